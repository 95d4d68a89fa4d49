// Relays one inbound webhook to the container's hook path on its published gateway port (loopback
// only) and brings back its answer. Nothing of the body is logged or written: it passes through
// memory once each way. Headers that describe this hop (host, cookies, length, connection) are
// rebuilt rather than forwarded; the sender's own signature headers (Slack, Telegram, GitHub) pass.

import { AgentError } from "./agent_error.ts";
import type { AppRelayRequest, HookRelayRequest, HookRelayResponse } from "./api/contract.ts";

/** The container's answer, capped: a container cannot make the agent hold more than this. */
export const HOOK_ANSWER_MAX_BYTES = 1024 * 1024;
/** App pages carry scripts and styles: a larger cap, still bounded. */
export const APP_ANSWER_MAX_BYTES = 16 * 1024 * 1024;
const HOOK_TIMEOUT_MS = 30_000;
/**
 * An app request may be a whole assistant turn (OpenClaw's /v1/chat/completions answers when the
 * model is done): longer, still under the server's 120 s wait for an agent call.
 */
const APP_TIMEOUT_MS = 110_000;

const DROPPED_REQUEST_HEADERS = new Set([
  "host",
  "cookie",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "upgrade",
  "te",
  "trailer",
  "proxy-authorization",
]);
const RETURNED_HEADERS = ["content-type", "retry-after", "cache-control"];
const APP_RETURNED_HEADERS = [
  ...RETURNED_HEADERS,
  "location",
  "etag",
  "last-modified",
  "content-security-policy",
  "set-cookie",
];

async function readCapped(response: Response, cap: number): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel();
      throw new AgentError(502, "too_large", "the container's answer is too large");
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

export function relayHook(baseUrl: string, hook: HookRelayRequest): Promise<HookRelayResponse> {
  return relayHttp(baseUrl, hook, HOOK_ANSWER_MAX_BYTES, RETURNED_HEADERS, HOOK_TIMEOUT_MS);
}

export function relayApp(baseUrl: string, request: AppRelayRequest): Promise<HookRelayResponse> {
  return relayHttp(baseUrl, request, APP_ANSWER_MAX_BYTES, APP_RETURNED_HEADERS, APP_TIMEOUT_MS);
}

async function relayHttp(
  baseUrl: string,
  hook: HookRelayRequest | AppRelayRequest,
  cap: number,
  returned: string[],
  timeoutMs: number,
): Promise<HookRelayResponse> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(hook.headers)) {
    const lower = name.toLowerCase();
    if (!DROPPED_REQUEST_HEADERS.has(lower) && !lower.startsWith("x-clawfleet-")) headers.set(lower, value);
  }
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${hook.path}`, {
      method: hook.method,
      headers,
      body:
        hook.method === "GET" || hook.method === "HEAD" ? undefined : Buffer.from(hook.bodyBase64, "base64"),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new AgentError(
      502,
      "container_unreachable",
      `the container did not answer: ${(error as Error).name}`,
    );
  }
  const body = await readCapped(response, cap);
  const answerHeaders: Record<string, string> = {};
  for (const name of returned) {
    // Several Set-Cookie headers stay apart (joined by a newline, which no header value holds).
    const value =
      name === "set-cookie" ? response.headers.getSetCookie().join("\n") || null : response.headers.get(name);
    if (value !== null) answerHeaders[name] = value;
  }
  return {
    status: response.status,
    headers: answerHeaders,
    bodyBase64: Buffer.from(body).toString("base64"),
  };
}
