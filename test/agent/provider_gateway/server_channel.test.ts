// How the agent signs its calls to the server: v2 in its own name when it has a node secret, v1 with
// a cluster secret otherwise; the server's verifier (same contract) accepts exactly what is meant.
import { expect, test } from "bun:test";
import { type ClusterKey, RequestVerifier, SERVER_CHANNEL } from "../../../agent/api/contract.ts";
import { ServerChannel } from "../../../agent/provider_gateway/server_channel.ts";

const cluster: ClusterKey = { id: "c1", secret: new TextEncoder().encode("cluster-secret-0123456789abcdef") };
const own: ClusterKey = { id: "node", secret: new TextEncoder().encode("node-secret-0123456789abcdefghij") };
const SESSION = "0b6f4a4e-8c1e-4f55-9d0e-2f5b8f0c6a11";

function capture(node: { nodeId: string; key: ClusterKey } | null) {
  const seen: Request[] = [];
  const channel = new ServerChannel({
    link: () => ({
      url: "http://server.invalid",
      fetch: (async (input: string, init?: RequestInit) => {
        seen.push(new Request(input, init));
        return Response.json({ keys: {}, budget: { monthlyTokens: null, usedThisMonth: 0 } });
      }) as typeof fetch,
    }),
    keys: [cluster],
    node,
    ca: null,
  });
  return { channel, seen };
}

test("with a node secret: v2, bound to the node id, verifiable only as that node", async () => {
  const { channel, seen } = capture({ nodeId: "node-a", key: own });
  await channel.fetchKeys(SESSION);
  const request = seen[0] as Request;
  expect(request.headers.get("x-clawfleet-signature")).toStartWith("v2=");
  expect(request.headers.get("x-clawfleet-node-id")).toBe("node-a");
  const path = SERVER_CHANNEL.keys(SESSION);
  const asNodeA = new RequestVerifier({ cluster: [], node: { nodeId: "node-a", keys: [own] } });
  expect(await asNodeA.verify("GET", path, request.headers, "")).toMatchObject({ ok: true });
  const asNodeB = new RequestVerifier({ cluster: [], node: { nodeId: "node-b", keys: [own] } });
  expect(await asNodeB.verify("GET", path, request.headers, "")).toMatchObject({ ok: false });
});

test("without one: v1 with the cluster secret", async () => {
  const { channel, seen } = capture(null);
  await channel.reportUsage([]);
  const request = seen[0] as Request;
  expect(request.headers.get("x-clawfleet-signature")).toStartWith("v1=");
  expect(request.headers.has("x-clawfleet-node-id")).toBe(false);
  const body = await request.text();
  expect(
    await new RequestVerifier([cluster]).verify("POST", SERVER_CHANNEL.usage, request.headers, body),
  ).toMatchObject({
    ok: true,
  });
});
