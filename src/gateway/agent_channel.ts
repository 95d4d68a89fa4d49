// The server's side of the provider gateway's calls (docs/AGENT.md "Provider gateway"): requests
// signed by a node exactly as the server signs its own calls to agents, and refused (401, logged
// without the secret) otherwise. A node with its own secret signs v2, bound to its name: it then gets
// the keys of the sessions placed on it and may report usage for them only. v1 (a cluster secret
// every node shares) cannot say which node asks, so it is trusted for every session. Two routes:
//   GET  /agent/v1/sessions/:id/provider-keys  the user's current keys for that session's container,
//        decrypted here (the one decrypt boundary) for that response only, plus the token budget;
//        404 once the session is not active, so a killed container's gateway gets nothing
//   POST /agent/v1/usage                       token counts to add up
import {
  type ClusterKey,
  NODE_ID,
  parseUsageReports,
  RequestVerifier,
  SERVER_CHANNEL,
  SESSION_ID,
  SIGNATURE_HEADERS,
} from "../../agent/api/contract.ts";
import type { Logger } from "../../common/log.ts";
import type { Db } from "../db/client.ts";
import { nodeSigning } from "../fleet/node_secrets.ts";
import { findNode, type NodeRow } from "../fleet/nodes.ts";
import type { MasterKeyring } from "../secrets/master_keys.ts";
import { decryptSecretsForSpawn } from "../secrets/spawn_secrets.ts";
import { getSessionById, planFor } from "../sessions/sessions_repo.ts";
import { recordTokenUsage, tokensThisMonth } from "./token_usage.ts";

const MAX_BODY = 4 * 1024 * 1024;
const ACTIVE = new Set(["spawning", "running", "frozen"]);

const fail = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status, headers: { "cache-control": "no-store" } });

export function isAgentChannelPath(pathname: string) {
  return pathname.startsWith(SERVER_CHANNEL.prefix);
}

export function agentChannel(deps: { db: Db; keyring: MasterKeyring; keys: ClusterKey[]; log: Logger }) {
  // Verifiers live as long as the server (per node while its secret stays the same): they remember
  // nonces, which is what refuses a replay.
  const clusterVerifier = new RequestVerifier(deps.keys);
  const nodeVerifiers = new Map<string, { secret: string; verifier: RequestVerifier }>();

  /** The verifier for the node a v2 request names, or a reason to refuse it. */
  async function nodeVerifier(
    claimed: string | null,
  ): Promise<{ node: NodeRow; verifier: RequestVerifier } | string> {
    if (!claimed || !NODE_ID.test(claimed)) return "v2 request without a valid node id";
    const node = await findNode(deps.db, claimed);
    if (!node || node.name !== claimed) return "unknown node";
    const signing = await nodeSigning(deps.keyring, node);
    if (!signing) return "the node has no secret of its own";
    const secret = Buffer.from(signing.key.secret).toString("base64");
    let cached = nodeVerifiers.get(node.id);
    if (cached?.secret !== secret) {
      cached = {
        secret,
        verifier: new RequestVerifier({ cluster: [], node: { nodeId: node.name, keys: [signing.key] } }),
      };
      nodeVerifiers.set(node.id, cached);
    }
    return { node, verifier: cached.verifier };
  }

  async function verify(request: Request, url: URL, body: Uint8Array) {
    const v2 = (request.headers.get(SIGNATURE_HEADERS.signature) ?? "").startsWith("v2=");
    const found = v2 ? await nodeVerifier(request.headers.get(SIGNATURE_HEADERS.nodeId)) : null;
    if (typeof found === "string") return { ok: false as const, reason: found };
    const verdict = await (found?.verifier ?? clusterVerifier).verify(
      request.method,
      `${url.pathname}${url.search}`,
      request.headers,
      body,
    );
    return verdict.ok ? { ok: true as const, node: found?.node ?? null } : verdict;
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > MAX_BODY) return fail(413, "too_large", "the request body is too large");
    const verdict = await verify(request, url, body);
    if (!verdict.ok) {
      deps.log.warn("agent channel: refused an unsigned or badly signed request", {
        reason: verdict.reason,
        path: url.pathname,
      });
      return fail(401, "unauthorized", "request signature rejected");
    }
    const keysPath = /^\/agent\/v1\/sessions\/([^/]+)\/provider-keys$/.exec(url.pathname);
    if (keysPath) {
      if (request.method !== "GET") return fail(405, "method_not_allowed", "use GET");
      return providerKeys(keysPath[1] ?? "", verdict.node);
    }
    if (url.pathname === SERVER_CHANNEL.usage) {
      if (request.method !== "POST") return fail(405, "method_not_allowed", "use POST");
      let parsed: unknown;
      try {
        parsed = JSON.parse(new TextDecoder().decode(body));
      } catch {
        return fail(400, "invalid_json", "the body must be JSON");
      }
      const reports = parseUsageReports(parsed);
      if (typeof reports === "string") return fail(400, "invalid_usage", reports);
      await recordTokenUsage(deps.db, reports, verdict.node?.id);
      return new Response(null, { status: 204 });
    }
    return fail(404, "not_found", "no such route");
  }

  async function providerKeys(sessionId: string, node: NodeRow | null): Promise<Response> {
    if (!SESSION_ID.test(sessionId)) return fail(404, "not_found", "no such session");
    const session = await getSessionById(deps.db, sessionId);
    if (!session || !ACTIVE.has(session.state)) return fail(404, "not_found", "no active session");
    // A node asking in its own name gets only its own containers' keys (same answer as "no session").
    if (node && session.nodeId !== node.id) {
      deps.log.warn("agent channel: a node asked for keys of a session placed elsewhere", {
        node: node.name,
        session: sessionId,
      });
      return fail(404, "not_found", "no active session");
    }
    const [keys, plan, used] = await Promise.all([
      decryptSecretsForSpawn(deps.db, deps.keyring, session.userId),
      planFor(deps.db, session.userId),
      tokensThisMonth(deps.db, session.userId),
    ]);
    return Response.json(
      { keys, budget: { monthlyTokens: plan?.monthlyTokenBudget ?? null, usedThisMonth: used } },
      { headers: { "cache-control": "no-store" } },
    );
  }

  return { handle };
}
