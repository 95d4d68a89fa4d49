// The server's side of the provider gateway's calls (docs/AGENT.md "Provider gateway"): requests
// signed by a node with a cluster secret, exactly as the server signs its own calls to agents, and
// refused (401, logged without the secret) otherwise. Two routes:
//   GET  /agent/v1/sessions/:id/provider-keys  the user's current keys for that session's container,
//        decrypted here (the one decrypt boundary) for that response only, plus the token budget;
//        404 once the session is not active, so a killed container's gateway gets nothing
//   POST /agent/v1/usage                       token counts to add up
import {
  type ClusterKey,
  parseUsageReports,
  RequestVerifier,
  SERVER_CHANNEL,
  SESSION_ID,
} from "../../agent/api/contract.ts";
import type { Logger } from "../../common/log.ts";
import type { Db } from "../db/client.ts";
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
  // One verifier for the server's life: it remembers nonces, which is what refuses a replay.
  const verifier = new RequestVerifier(deps.keys);

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > MAX_BODY) return fail(413, "too_large", "the request body is too large");
    const verdict = await verifier.verify(
      request.method,
      `${url.pathname}${url.search}`,
      request.headers,
      body,
    );
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
      return providerKeys(keysPath[1] ?? "");
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
      await recordTokenUsage(deps.db, reports);
      return new Response(null, { status: 204 });
    }
    return fail(404, "not_found", "no such route");
  }

  async function providerKeys(sessionId: string): Promise<Response> {
    if (!SESSION_ID.test(sessionId)) return fail(404, "not_found", "no such session");
    const session = await getSessionById(deps.db, sessionId);
    if (!session || !ACTIVE.has(session.state)) return fail(404, "not_found", "no active session");
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
