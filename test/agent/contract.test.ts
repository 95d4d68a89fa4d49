// The signing contract shared by the server's client and the agent (agent/api/contract.ts), checked
// without a network: key rotation, the exact canonical string, the window, nonces; and the strict spec.
import { expect, test } from "bun:test";
import { createHash, createHmac } from "node:crypto";
import {
  parseContainerSpec,
  parseRestoreRequest,
  RequestVerifier,
  SIGNATURE_HEADERS,
  signRequest,
} from "../../agent/api/contract.ts";
import { parseKeyring } from "../../common/keyring.ts";

const [newer, older] = parseKeyring(
  "CLAWFLEET_CLUSTER_SECRETS",
  `new:${"n".repeat(40)},old:${"o".repeat(40)}`,
  "secret",
);
if (!newer || !older) throw new Error("keyring");

test("the signature is HMAC-SHA256 over the documented canonical string (checked with node:crypto)", async () => {
  const body = '{"x":1}';
  const headers = await signRequest(newer, "post", "/v1/containers?a=b", body, 1_700_000_000_000);
  const canonical = [
    "v1",
    "POST",
    "/v1/containers?a=b",
    "1700000000",
    headers[SIGNATURE_HEADERS.nonce],
    createHash("sha256").update(body).digest("hex"),
  ].join("\n");
  const expected = createHmac("sha256", Buffer.from(newer.secret)).update(canonical).digest("hex");
  expect(headers[SIGNATURE_HEADERS.signature]).toBe(`v1=${expected}`);
  expect(headers[SIGNATURE_HEADERS.keyId]).toBe("new");
  expect(headers[SIGNATURE_HEADERS.timestamp]).toBe("1700000000");
  // 16 random bytes, base64url without padding.
  expect(headers[SIGNATURE_HEADERS.nonce]).toMatch(/^[A-Za-z0-9_-]{22}$/);
});

test("during a rotation the agent accepts every listed key; unknown ids, stale and future times, replays fail", async () => {
  const verifier = new RequestVerifier([newer, older]);
  const now = Date.now();
  const check = async (h: Record<string, string>, at = now) =>
    verifier.verify("GET", "/v1/health", new Headers(h), "", at);
  expect(await check(await signRequest(newer, "GET", "/v1/health"))).toEqual({ ok: true, keyId: "new" });
  expect(await check(await signRequest(older, "GET", "/v1/health"))).toEqual({ ok: true, keyId: "old" });
  const onlyNew = new RequestVerifier([newer]);
  expect(
    await onlyNew.verify("GET", "/v1/health", new Headers(await signRequest(older, "GET", "/v1/health")), ""),
  ).toEqual({ ok: false, reason: "unknown key id" });
  const edge = await signRequest(newer, "GET", "/v1/health", "", now - 59_000);
  expect((await check(edge)).ok).toBe(true);
  const stale = await signRequest(newer, "GET", "/v1/health", "", now - 62_000);
  expect(await check(stale)).toEqual({ ok: false, reason: "timestamp outside the window" });
  const future = await signRequest(newer, "GET", "/v1/health", "", now + 62_000);
  expect(await check(future)).toEqual({ ok: false, reason: "timestamp outside the window" });
  const once = await signRequest(newer, "GET", "/v1/health");
  expect((await check(once)).ok).toBe(true);
  expect(await check(once)).toEqual({ ok: false, reason: "replayed nonce" });
  // A nonce is remembered as long as its request could pass the timestamp check, even after pruning.
  expect(await check(once, now + 59_000)).toEqual({ ok: false, reason: "replayed nonce" });
  const short = { ...(await signRequest(newer, "GET", "/v1/health")), [SIGNATURE_HEADERS.nonce]: "abc" };
  expect((await check(short)).ok).toBe(false);
  const tampered = await signRequest(newer, "GET", "/v1/health");
  // Flip the last hex digit (a fixed replacement would leave it unchanged one time in sixteen).
  const signature = tampered[SIGNATURE_HEADERS.signature] ?? "";
  tampered[SIGNATURE_HEADERS.signature] = `${signature.slice(0, -1)}${signature.endsWith("0") ? "1" : "0"}`;
  expect((await check(tampered)).ok).toBe(false);
});

test("a volume key is 32 bytes of base64 in {volume: {key}}, for spawn and restore alike", () => {
  const spec = {
    sessionId: "0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f",
    template: "clawfleet-runtime",
    limits: { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 },
  };
  const key = Buffer.alloc(32, 9).toString("base64");
  expect(parseContainerSpec({ ...spec, volume: { key } })).toEqual({ ...spec, volume: { key } });
  expect(parseRestoreRequest(undefined)).toEqual({});
  expect(parseRestoreRequest({ volume: { key } })).toEqual({ volume: { key } });
  for (const volume of [
    null,
    "key",
    { key: Buffer.alloc(16).toString("base64") },
    { key: Buffer.alloc(64).toString("base64") },
    { key: `${"!".repeat(43)}=` },
    { key, path: "/etc" },
  ]) {
    expect(typeof parseContainerSpec({ ...spec, volume })).toBe("string");
    expect(typeof parseRestoreRequest({ volume })).toBe("string");
  }
  expect(typeof parseRestoreRequest({ volume: { key }, HostConfig: {} })).toBe("string");
  expect(typeof parseRestoreRequest(null)).toBe("string");
});

test("a spawn spec is the three high-level fields and nothing else (no keys: the gateway fetches them)", () => {
  const ok = {
    sessionId: "0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f",
    template: "clawfleet-runtime",
    limits: { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 },
  };
  expect(parseContainerSpec(ok)).toEqual(ok);
  for (const bad of [
    null,
    [],
    "spec",
    { ...ok, Image: "alpine" },
    { ...ok, HostConfig: { Privileged: true } },
    { ...ok, sessionId: "0B6F2F8E-1F0E-4C7B-9F59-1A2B3C4D5E6F" },
    { ...ok, template: "../x" },
    { ...ok, limits: { ...ok.limits, memoryMb: 10 } },
    { ...ok, limits: { ...ok.limits, cpuMillis: 1.5 } },
    { ...ok, limits: { ...ok.limits, CapAdd: ["SYS_ADMIN"] } },
    { ...ok, secrets: { anthropic: "sk-ant-x" } },
    { ...ok, secrets: {} },
  ]) {
    expect(typeof parseContainerSpec(bad)).toBe("string");
  }
});

test("v2 binds the node id: documented canonical string, refused by another node and as v1", async () => {
  const [own] = parseKeyring("CLAWFLEET_NODE_SECRETS", `n1:${"a".repeat(40)}`, "secret");
  if (!own) throw new Error("keyring");
  const body = '{"x":2}';
  const headers = await signRequest(own, "delete", "/v1/containers/x", body, 1_700_000_000_000, "node-a");
  const canonical = [
    "v2",
    "node-a",
    "DELETE",
    "/v1/containers/x",
    "1700000000",
    headers[SIGNATURE_HEADERS.nonce],
    createHash("sha256").update(body).digest("hex"),
  ].join("\n");
  const expected = createHmac("sha256", Buffer.from(own.secret)).update(canonical).digest("hex");
  expect(headers[SIGNATURE_HEADERS.signature]).toBe(`v2=${expected}`);
  expect(headers[SIGNATURE_HEADERS.nodeId]).toBe("node-a");

  const now = 1_700_000_000_000;
  const verify = (verifier: RequestVerifier, h: Record<string, string>, method = "DELETE") =>
    verifier.verify(method, "/v1/containers/x", new Headers(h), body, now);
  const nodeA = () => new RequestVerifier({ cluster: [], node: { nodeId: "node-a", keys: [own] } });
  expect(await verify(nodeA(), headers)).toEqual({ ok: true, keyId: "n1" });
  // The same secret and signature presented to another node: refused.
  const nodeB = new RequestVerifier({ cluster: [], node: { nodeId: "node-b", keys: [own] } });
  expect(await verify(nodeB, headers)).toEqual({ ok: false, reason: "request meant for another node" });
  // Claiming node-b in the header while the signature binds node-a: bad signature on node-b.
  const relabelled = { ...headers, [SIGNATURE_HEADERS.nodeId]: "node-b" };
  expect((await verify(nodeB, relabelled)).ok).toBe(false);
  // A node's own secret never signs v1, and v1 is refused once no cluster secret is configured.
  const v1 = await signRequest(own, "DELETE", "/v1/containers/x", body, now);
  expect(await verify(nodeA(), v1)).toEqual({
    ok: false,
    reason: "v1 signatures are accepted only while CLAWFLEET_CLUSTER_SECRETS is set",
  });
  const migrating = new RequestVerifier({ cluster: [newer], node: { nodeId: "node-a", keys: [own] } });
  expect((await verify(migrating, v1)).ok).toBe(false);
  expect(
    (await verify(migrating, await signRequest(newer, "DELETE", "/v1/containers/x", body, now))).ok,
  ).toBe(true);
  // Without a node binding (old agents) a v2 signature is not understood.
  expect((await verify(new RequestVerifier([newer]), headers)).ok).toBe(false);
});

test("an upgrade is a spawn spec with replace: true; replace is a boolean or absent", () => {
  const spec = {
    sessionId: "0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f",
    template: "clawfleet-runtime",
    limits: { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 },
  };
  expect(parseContainerSpec({ ...spec, replace: true })).toEqual({ ...spec, replace: true });
  expect(parseContainerSpec({ ...spec, replace: false })).toEqual(spec);
  for (const replace of ["yes", 1, null, {}]) {
    expect(parseContainerSpec({ ...spec, replace })).toBe("replace must be true or false");
  }
});
