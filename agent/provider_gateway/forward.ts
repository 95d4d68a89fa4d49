// One request from a container, forwarded: the credential swapped for the user's key, the body passed
// on (OpenAI-style streamed chat requests are asked to include their usage), the reply streamed back
// chunk by chunk as it arrives (pull-based, so back-pressure reaches the provider) while the meter
// reads token counts from it. Bodies are never logged or kept; errors name the provider, never a key.
import type { Provider } from "../../common/providers.ts";
import type { KeyCache } from "./key_cache.ts";
import { TokenMeter } from "./meter.ts";
import { AUTH_HEADERS, injectKey, PROVIDER_ROUTES, requestModel } from "./providers.ts";
import { ServerChannelError } from "./server_channel.ts";

export const MAX_REQUEST_BODY = 32 * 1024 * 1024;

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "host",
  "content-length",
  "accept-encoding",
  "cookie",
];

/** Errors in a shape both SDK families read (`error.message`), with DESIGN.md's `{error:{code,message}}`. */
export function gatewayError(status: number, code: string, message: string, headers: HeadersInit = {}) {
  return Response.json({ type: "error", error: { type: code, code, message } }, { status, headers });
}

export type ForwardDeps = {
  keys: KeyCache;
  upstreams: Record<Provider, string>;
  ca: string | null;
  onUsage(sessionId: string, provider: Provider, model: string, input: number, output: number): void;
};

function wantsUsage(path: string, body: Record<string, unknown>): boolean {
  return path.endsWith("/chat/completions") && body.stream === true;
}

async function upstreamBody(
  request: Request,
  path: string,
): Promise<{ body: BodyInit | null; model: string | null } | Response> {
  if (request.method === "GET" || request.method === "HEAD") return { body: null, model: null };
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_REQUEST_BODY) return gatewayError(413, "too_large", "The request body is too large.");
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_REQUEST_BODY)
    return gatewayError(413, "too_large", "The request body is too large.");
  if (!(request.headers.get("content-type") ?? "").includes("json")) return { body: bytes, model: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { body: bytes, model: null };
  }
  const model = requestModel(parsed, path);
  if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
    const body = parsed as Record<string, unknown>;
    if (wantsUsage(path, body)) {
      const options = (body.stream_options ?? {}) as Record<string, unknown>;
      body.stream_options = { ...options, include_usage: true };
      return { body: JSON.stringify(body), model };
    }
  }
  return { body: bytes, model };
}

/** The metered reply stream: each chunk goes to the container as soon as the provider sends it. */
function meteredBody(
  upstream: ReadableStream<Uint8Array>,
  meter: TokenMeter,
  done: (count: ReturnType<TokenMeter["finish"]>) => void,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done(meter.finish());
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: end, value } = await reader.read();
          if (end) {
            finish();
            controller.close();
            return;
          }
          meter.feed(value);
          controller.enqueue(value);
        } catch (error) {
          finish();
          controller.error(error);
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    },
    // Up to 256 KiB read ahead of the container: reading the provider overlaps writing to the
    // container, and a slow reader still stops the reads (back-pressure) once that much waits.
    new ByteLengthQueuingStrategy({ highWaterMark: 256 * 1024 }),
  );
}

export async function forward(
  deps: ForwardDeps,
  sessionId: string,
  provider: Provider,
  request: Request,
  url: URL,
  rest: string,
  usedBearer: boolean,
): Promise<Response> {
  const label = PROVIDER_ROUTES[provider].label;
  let session: Awaited<ReturnType<KeyCache["get"]>>;
  try {
    session = await deps.keys.get(sessionId);
  } catch (error) {
    const status = error instanceof ServerChannelError && error.status === 404 ? 403 : 503;
    return status === 403
      ? gatewayError(403, "session_inactive", "This container's session is not active any more.")
      : gatewayError(
          503,
          "keys_unavailable",
          `Your ${label} key cannot be read right now. Try again shortly.`,
          {
            "retry-after": "2",
          },
        );
  }
  const key = session.keys[provider];
  if (!key) {
    return gatewayError(
      401,
      "no_provider_key",
      `No ${label} key is stored for your account. Add one in the console (Keys); no restart is needed.`,
    );
  }
  const { monthlyTokens, usedThisMonth } = session.budget;
  if (monthlyTokens !== null && usedThisMonth >= monthlyTokens) {
    return gatewayError(
      429,
      "token_budget_exceeded",
      `Your plan's monthly token budget (${monthlyTokens} tokens) is used up; it renews on the 1st (UTC).`,
    );
  }
  const prepared = await upstreamBody(request, rest);
  if (prepared instanceof Response) return prepared;

  const headers = new Headers(request.headers);
  for (const name of [...HOP_BY_HOP, ...AUTH_HEADERS]) headers.delete(name);
  headers.set("accept-encoding", "identity");
  injectKey(provider, headers, key, usedBearer);
  const target = new URL(`${deps.upstreams[provider]}${rest}`);
  for (const [name, value] of url.searchParams) if (name !== "key") target.searchParams.append(name, value);

  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: prepared.body,
      redirect: "manual",
      signal: request.signal,
      ...(deps.ca ? { tls: { ca: deps.ca } } : {}),
    } as RequestInit);
  } catch (error) {
    const reason = (error as Error).name === "AbortError" ? "the request was cancelled" : "unreachable";
    return gatewayError(502, "provider_unreachable", `${label} could not be reached (${reason}).`);
  }
  const responseHeaders = new Headers(upstream.headers);
  for (const name of ["content-length", "transfer-encoding", "connection", "content-encoding", "set-cookie"])
    responseHeaders.delete(name);
  if (!upstream.body) return new Response(null, { status: upstream.status, headers: responseHeaders });
  const meter = TokenMeter.forContentType(upstream.headers.get("content-type"), prepared.model);
  const body = meteredBody(upstream.body, meter, (count) => {
    if (count.input === 0 && count.output === 0) return;
    deps.keys.addUsage(sessionId, count.input + count.output);
    deps.onUsage(sessionId, provider, count.model ?? "unknown", count.input, count.output);
  });
  return new Response(body, { status: upstream.status, headers: responseHeaders });
}
