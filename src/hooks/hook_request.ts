// POST /hooks/<session slug>/<hook secret>/<path> (GET too, for a platform's verification handshake):
// an inbound webhook (a channel's update, a CI notification) relayed to the container's hook path,
// restoring a frozen container first within CLAWFLEET_HOOK_WAIT. The secret is the credential, so this handler keeps the whole URL out of logs,
// metrics labels and error messages, and the body is relayed from memory, never stored or logged.
import { AgentRequestError } from "../../agent/api/client.ts";
import { HOOK_MAX_BODY } from "../../agent/api/contract.ts";
import type { AppContext } from "../context.ts";
import { UserError } from "../errors.ts";
import { clientIp } from "../http/client_ip.ts";
import { userErrorResponse } from "../http/errors.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { touchActivity } from "../sessions/sessions_repo.ts";
import { userForHook } from "./hook_secrets.ts";
import { ContainerWaking, wakeSession } from "./wake_session.ts";

export const HOOK_PATH_PREFIX = "/hooks/";
const HOOK_URL = /^\/hooks\/([^/]+)\/([^/]+)(\/.*)?$/;
const RETRY_AFTER_SECONDS = 10;

export function isHookRequest(pathname: string): boolean {
  return pathname.startsWith(HOOK_PATH_PREFIX);
}

async function readBody(request: Request): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > HOOK_MAX_BODY) throw new UserError(413, "too_large", "The webhook body is too large.");
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.byteLength > HOOK_MAX_BODY)
    throw new UserError(413, "too_large", "The webhook body is too large.");
  return body;
}

function agentRefusal(error: AgentRequestError): UserError {
  if (error.code === "paused") return new ContainerWaking(RETRY_AFTER_SECONDS);
  if (error.code === "no_webhook")
    return new UserError(404, "no_webhook", "This session's template takes no webhooks.");
  if (error.code === "too_large")
    return new UserError(502, "answer_too_large", "The container's answer is too large.");
  if (error.status === 503) return new ContainerWaking(RETRY_AFTER_SECONDS);
  return new UserError(502, "container_unreachable", "The container did not answer the webhook.");
}

export function createHookHandler(ctx: AppContext, lifecycle: Lifecycle) {
  const db = ctx.database.db;
  return async function handleHook(request: Request, peer: string): Promise<Response> {
    try {
      // GET is relayed for verification handshakes (WhatsApp's hub.challenge), without a body.
      if (request.method !== "POST" && request.method !== "GET") {
        return new Response(
          JSON.stringify({
            error: { code: "method_not_allowed", message: "Webhooks are POST (GET for verification)." },
          }),
          {
            status: 405,
            headers: { "content-type": "application/json; charset=utf-8", allow: "GET, POST" },
          },
        );
      }
      const url = new URL(request.url);
      const match = HOOK_URL.exec(url.pathname);
      const userId = match ? await userForHook(db, match[1] ?? "", match[2] ?? "") : null;
      if (!match || !userId) throw new UserError(404, "not_found", "No such webhook.");
      const body = request.method === "GET" ? new Uint8Array() : await readBody(request);
      const ip = clientIp(request, peer, ctx.config.trustedProxies);
      const session = await wakeSession(db, lifecycle, userId, ip, ctx.config.hookWaitMs);
      const found = await lifecycle.fleet.agentForNode(session.nodeId);
      if (!found) throw new ContainerWaking(RETRY_AFTER_SECONDS);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, name) => {
        headers[name] = value;
      });
      let answer: Awaited<ReturnType<typeof found.agent.relayHook>>;
      try {
        answer = await found.agent.relayHook(session.id, {
          path: `${match[3] ?? "/"}${url.search}`,
          method: request.method === "GET" ? "GET" : "POST",
          headers,
          bodyBase64: Buffer.from(body).toString("base64"),
        });
      } catch (error) {
        if (error instanceof AgentRequestError) throw agentRefusal(error);
        throw error;
      }
      await touchActivity(db, session.id);
      ctx.log.info("webhook relayed", { session: session.id, status: answer.status, bytes: body.byteLength });
      return new Response(Buffer.from(answer.bodyBase64, "base64"), {
        status: answer.status,
        headers: answer.headers,
      });
    } catch (error) {
      if (error instanceof UserError) return userErrorResponse(error);
      // Logged without the URL (it holds the secret) and without the body.
      ctx.log.error("webhook failed", { error: error instanceof Error ? error.message : "unknown" });
      return new Response(
        JSON.stringify({ error: { code: "internal", message: "Something went wrong on our side." } }),
        {
          status: 500,
          headers: { "content-type": "application/json; charset=utf-8" },
        },
      );
    }
  };
}
