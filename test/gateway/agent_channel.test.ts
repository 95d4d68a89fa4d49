// The server's side of the provider gateway's channel, on both drivers: only signed requests, keys
// only for active sessions, strict usage batches (bad input changes nothing), and usage rows under RLS.
import { beforeAll, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { type ClusterKey, SERVER_CHANNEL, signRequest } from "../../agent/api/contract.ts";
import { parseKeyring } from "../../common/keyring.ts";
import { createLogger } from "../../common/log.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem, asUser } from "../../src/db/rls.ts";
import { agentSessions, tokenUsage, users } from "../../src/db/schema.ts";
import { mintNodeSecret } from "../../src/fleet/node_secrets.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { agentChannel } from "../../src/gateway/agent_channel.ts";
import { tokenHistory, tokenSummary } from "../../src/gateway/token_usage.ts";
import { addCredential } from "../../src/secrets/credentials.ts";
import { loadMasterKeyring } from "../../src/secrets/master_keys.ts";
import { describeEachDriver } from "../helpers/db.ts";

const ring = await loadMasterKeyring({
  masterKeys: parseKeyring("K", `m1:${Buffer.alloc(32, 7).toString("base64")}`, "aes256"),
  dataDir: "/x",
});
const cluster: ClusterKey = { id: "c1", secret: new TextEncoder().encode("cluster-secret-0123456789abcdef") };
const stranger: ClusterKey = {
  id: "c1",
  secret: new TextEncoder().encode("not-the-cluster-secret-000000000"),
};
const KEY = "sk-proj-CHANNEL-CANARY-0123456789abcdefgh";
const today = new Date().toISOString().slice(0, 10);

describeEachDriver("agent channel", (db) => {
  const logs: string[] = [];
  let channel: ReturnType<typeof agentChannel>;
  let alice = "";
  let bob = "";
  let running = "";
  let killed = "";

  const call = async (key: ClusterKey, method: string, path: string, body?: unknown) => {
    const payload = body === undefined ? "" : JSON.stringify(body);
    const headers = await signRequest(key, method, path, payload);
    return channel.handle(
      new Request(`http://server${path}`, { method, headers, body: payload || undefined }),
    );
  };

  beforeAll(async () => {
    channel = agentChannel({
      db: db().db,
      keyring: ring,
      keys: [cluster],
      log: createLogger("debug", {}, (line) => logs.push(line)),
    });
    const made = await asSystem(db().db, (tx) =>
      tx
        .insert(users)
        .values([
          { email: "chan-a@example.test", passwordHash: "x" },
          { email: "chan-b@example.test", passwordHash: "x" },
        ])
        .returning(),
    );
    alice = made[0]?.id ?? "";
    bob = made[1]?.id ?? "";
    await addCredential(db().db, ring, alice, "openai", KEY);
    const sessions = await asSystem(db().db, (tx) =>
      tx
        .insert(agentSessions)
        .values([
          { userId: alice, state: "running" },
          { userId: bob, state: "none" },
        ])
        .returning(),
    );
    running = sessions[0]?.id ?? "";
    killed = sessions[1]?.id ?? "";
  });

  test("keys go only to a signed request for an active session", async () => {
    const ok = await call(cluster, "GET", SERVER_CHANNEL.keys(running));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      keys: { openai: KEY },
      budget: { monthlyTokens: null, usedThisMonth: 0 },
    });
    expect((await call(stranger, "GET", SERVER_CHANNEL.keys(running))).status).toBe(401);
    expect((await call(cluster, "GET", SERVER_CHANNEL.keys(killed))).status).toBe(404);
    expect((await call(cluster, "GET", SERVER_CHANNEL.keys("not-a-uuid"))).status).toBe(404);
    const unsigned = await channel.handle(new Request(`http://server${SERVER_CHANNEL.keys(running)}`));
    expect(unsigned.status).toBe(401);
    expect(await unsigned.text()).not.toContain(KEY);
    // A captured request replayed is refused (its nonce was seen).
    const headers = await signRequest(cluster, "GET", SERVER_CHANNEL.keys(running));
    const first = await channel.handle(
      new Request(`http://server${SERVER_CHANNEL.keys(running)}`, { headers }),
    );
    const replay = await channel.handle(
      new Request(`http://server${SERVER_CHANNEL.keys(running)}`, { headers }),
    );
    expect([first.status, replay.status]).toEqual([200, 401]);
    expect(logs.join("\n")).not.toContain(KEY);
  });

  test("usage batches: counted per user, day, provider and model; bad input is a 400 that changes nothing", async () => {
    const report = (extra: Record<string, unknown> = {}) => ({
      sessionId: running,
      day: today,
      provider: "openai",
      model: "gpt-4o-mini",
      inputTokens: 10,
      outputTokens: 3,
      requests: 1,
      ...extra,
    });
    expect(
      (await call(cluster, "POST", SERVER_CHANNEL.usage, { reports: [report(), report()] })).status,
    ).toBe(204);
    for (const bad of [
      { reports: [report({ inputTokens: -1 })] },
      { reports: [report({ provider: "mistral" })] },
      { reports: [report({ content: "the prompt" })] },
      { reports: [report(), report({ day: "yesterday" })] },
      { reports: "nope" },
    ]) {
      const response = await call(cluster, "POST", SERVER_CHANNEL.usage, bad);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("invalid_usage");
    }
    expect((await call(stranger, "POST", SERVER_CHANNEL.usage, { reports: [report()] })).status).toBe(401);
    const summary = await tokenSummary(db().db, alice);
    expect(summary.today).toMatchObject({ input_tokens: 20, output_tokens: 6, requests: 2 });
    const history = await tokenHistory(db().db, alice, 3);
    expect(history.map((d) => d.input_tokens)).toEqual([0, 0, 20]);
    expect(history[2]?.by_provider.openai).toEqual({ input_tokens: 20, output_tokens: 6, requests: 2 });
    // The budget now sees them.
    await asSystem(db().db, (tx) =>
      tx.execute(sql`update plans set monthly_token_budget = 1000 where id = 'free'`),
    );
    try {
      const keys = (await (await call(cluster, "GET", SERVER_CHANNEL.keys(running))).json()) as {
        budget: unknown;
      };
      expect(keys.budget).toEqual({ monthlyTokens: 1000, usedThisMonth: 26 });
    } finally {
      await asSystem(db().db, (tx) =>
        tx.execute(sql`update plans set monthly_token_budget = null where id = 'free'`),
      );
    }
  });

  test("a node signing in its own name (v2) gets only its containers' keys and counts only their usage", async () => {
    const nodes = [];
    for (const name of ["chan-node-a", "chan-node-b"]) {
      const node = await addNode(db().db, {
        name,
        url: "https://127.0.0.1:7443",
        fingerprint: "ab".repeat(32),
      });
      const env = (await mintNodeSecret(db().db, ring, node)).env;
      const secret = /CLAWFLEET_NODE_SECRETS=node:(\S+)/.exec(env)?.[1] ?? "";
      nodes.push({ node, key: { id: "node", secret: new TextEncoder().encode(secret) } as ClusterKey });
    }
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const place = (id: string, state: "running" | "none", nodeId: string | null) =>
      asSystem(db().db, (tx) =>
        tx.update(agentSessions).set({ state, nodeId }).where(eq(agentSessions.id, id)),
      );
    await place(running, "running", a.node.id);
    await place(killed, "running", b.node.id);
    const onA = { id: running };
    const onB = { id: killed };
    // No cluster secret at all on this server: nodes sign with their own.
    const strict = agentChannel({
      db: db().db,
      keyring: ring,
      keys: [],
      log: createLogger("debug", {}, () => {}),
    });
    const asNode = async (key: ClusterKey, nodeId: string, method: string, path: string, body?: unknown) => {
      const payload = body === undefined ? "" : JSON.stringify(body);
      const headers = await signRequest(key, method, path, payload, Date.now(), nodeId);
      return strict.handle(
        new Request(`http://server${path}`, { method, headers, body: payload || undefined }),
      );
    };
    const own = await asNode(a.key, a.node.name, "GET", SERVER_CHANNEL.keys(onA?.id ?? ""));
    expect(own.status).toBe(200);
    expect(((await own.json()) as { keys: unknown }).keys).toEqual({ openai: KEY });
    // Another node's container: as if there were no such session.
    expect((await asNode(a.key, a.node.name, "GET", SERVER_CHANNEL.keys(onB?.id ?? ""))).status).toBe(404);
    // Node B's secret cannot speak for node A, nor can an unknown node or v1 without cluster secrets.
    expect((await asNode(b.key, a.node.name, "GET", SERVER_CHANNEL.keys(onA?.id ?? ""))).status).toBe(401);
    expect((await asNode(a.key, "chan-node-x", "GET", SERVER_CHANNEL.keys(onA?.id ?? ""))).status).toBe(401);
    const v1 = await signRequest(cluster, "GET", SERVER_CHANNEL.keys(onA?.id ?? ""));
    expect(
      (
        await strict.handle(
          new Request(`http://server${SERVER_CHANNEL.keys(onA?.id ?? "")}`, { headers: v1 }),
        )
      ).status,
    ).toBe(401);
    // Usage node A reports for node B's container is not counted; its own is.
    const before = (await tokenSummary(db().db, bob)).today.input_tokens;
    const usage = (sessionId: string) => ({
      reports: [
        {
          sessionId,
          day: today,
          provider: "openai",
          model: "m",
          inputTokens: 5,
          outputTokens: 1,
          requests: 1,
        },
      ],
    });
    expect(
      (await asNode(a.key, a.node.name, "POST", SERVER_CHANNEL.usage, usage(onB?.id ?? ""))).status,
    ).toBe(204);
    expect((await tokenSummary(db().db, bob)).today.input_tokens).toBe(before);
    const aliceBefore = (await tokenSummary(db().db, alice)).today.input_tokens;
    expect(
      (await asNode(a.key, a.node.name, "POST", SERVER_CHANNEL.usage, usage(onA?.id ?? ""))).status,
    ).toBe(204);
    expect((await tokenSummary(db().db, alice)).today.input_tokens).toBe(aliceBefore + 5);
    // Leave the shared rows as the next test expects them.
    await place(running, "running", null);
    await place(killed, "none", null);
    await asSystem(db().db, (tx) => tx.execute(sql`delete from token_usage where model = 'm'`));
  });

  test("token usage is user-owned: RLS forced, each user sees only their own rows, the app role cannot write", async () => {
    expect((await asUser(db().db, alice, (tx) => tx.select().from(tokenUsage))).length).toBe(1);
    expect(await asUser(db().db, bob, (tx) => tx.select().from(tokenUsage))).toEqual([]);
    expect(await asUser(db().db, null, (tx) => tx.select().from(tokenUsage))).toEqual([]);
    await expect(
      asUser(db().db, bob, (tx) =>
        tx
          .insert(tokenUsage)
          .values({ userId: bob, day: today, provider: "openai", model: "m", inputTokens: 1 }),
      ),
    ).rejects.toThrow();
    const [forced] = rowsOf<{ relforcerowsecurity: boolean }>(
      await db().db.execute(sql`select relforcerowsecurity from pg_class where relname = 'token_usage'`),
    );
    expect(forced?.relforcerowsecurity).toBe(true);
  });
});
