// A local fake AI provider speaking the real streaming wire formats of both APIs:
//   POST …/chat/completions  OpenAI chat completions (OpenAI, OpenRouter, Gemini's OpenAI endpoint):
//                            `data: {chunk}` events, then `data: [DONE]`; errors as {error: {message}}.
//   POST …/v1/messages       Anthropic messages: named events message_start … message_stop, `error`
//                            events; errors as {type: "error", error: {type, message}}.
// Replies are scripted by rules matched against the last user message (default: an echo); every
// request is recorded, headers included, so tests can check which header carried the key.
//
// In-process: `startFakeProvider()`. As its own process (e.g. inside a network namespace, see
// test/helpers/netns.ts): `bun test/fakes/provider.ts --host H --port P`, then `connectFakeProvider(url)`
// drives it through its /_fake control endpoints. The process exits when its stdin closes.

import {
  anthropicToolCallParts,
  anthropicToolProblem,
  openAiToolCallParts,
  openAiToolProblem,
} from "./provider_tool_calls.ts";

export type FakeReply =
  | {
      kind: "text";
      chunks: string[];
      delayMs?: number;
      model?: string;
      stopReason?: string;
      /** Token counts to report (default: 11 in, one per chunk out). */
      usage?: { input: number; output: number };
    }
  | { kind: "http_error"; status: number; message?: string; retryAfter?: string }
  /** A stream that turns into something that is not JSON after `chunks`. */
  | { kind: "malformed"; chunks?: string[] }
  /** A stream that reports an error in-band after `chunks` (Anthropic `event: error`, OpenAI `{error}`). */
  | { kind: "stream_error"; chunks?: string[]; errorType?: string; message?: string }
  /** A stream that stops after `chunks` without its end marker. */
  | { kind: "truncated"; chunks?: string[] }
  /**
   * Text `chunks` (optional), then tool calls, streamed as each API does: OpenAI `delta.tool_calls`
   * fragments and finish_reason "tool_calls"; Anthropic `tool_use` blocks with `input_json_delta`
   * pieces and stop_reason "tool_use". Arguments are split into `argumentChunks` pieces (default 3).
   */
  | {
      kind: "tool_calls";
      chunks?: string[];
      calls: { id?: string; name: string; input: Record<string, unknown> }[];
      argumentChunks?: number;
    };

export type FakeRule = {
  /** Substring of the last user message; absent matches every request. */
  match?: string;
  /** How many requests the rule answers; absent means unlimited. */
  times?: number;
  reply: FakeReply;
};

export type RecordedRequest = {
  api: "openai" | "anthropic" | "unknown";
  method: string;
  path: string;
  /** The query string, `?…` or empty. */
  query: string;
  headers: Record<string, string>;
  body: unknown;
};

export type FakeProvider = {
  url: string;
  /** Base URL for OpenAI-compatible clients (ends in /v1). */
  openaiBaseUrl: string;
  /** Base URL for Anthropic clients (they append /v1/messages). */
  anthropicBaseUrl: string;
  /** Replaces the rules. */
  script(rules: FakeRule[]): Promise<void>;
  /** Only these keys are accepted (401 in the API's own format otherwise); null accepts any. */
  acceptKeys(keys: string[] | null): Promise<void>;
  requests(): Promise<RecordedRequest[]>;
  clearRequests(): Promise<void>;
  stop(): Promise<void>;
};

type State = { rules: FakeRule[]; keys: string[] | null; requests: RecordedRequest[] };

const encoder = new TextEncoder();
const sse = (data: unknown, event?: string) =>
  `${event ? `event: ${event}\n` : ""}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;

function lastUserText(body: unknown): string {
  const messages = (body as { messages?: { role?: string; content?: unknown }[] })?.messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (message?.role !== "user") continue;
    if (typeof message.content === "string") return message.content;
    if (Array.isArray(message.content)) {
      // Tool results travel as user messages in Anthropic's format; rules match what the user said.
      if (message.content.every((part: { type?: string }) => part?.type === "tool_result")) continue;
      return message.content.map((part: { text?: string }) => part?.text ?? "").join("");
    }
  }
  return "";
}

function pickReply(state: State, text: string): FakeReply {
  const index = state.rules.findIndex((rule) => rule.match === undefined || text.includes(rule.match));
  const rule = state.rules[index];
  if (!rule) {
    const echo = `You said: ${text}`;
    const third = Math.ceil(echo.length / 3);
    return {
      kind: "text",
      chunks: [echo.slice(0, third), echo.slice(third, 2 * third), echo.slice(2 * third)],
    };
  }
  if (rule.times !== undefined && --rule.times <= 0) state.rules.splice(index, 1);
  return rule.reply;
}

function openAiError(status: number, message: string, headers: Record<string, string> = {}): Response {
  const type = status === 401 ? "invalid_request_error" : status === 429 ? "requests" : "server_error";
  const code = status === 401 ? "invalid_api_key" : status === 429 ? "rate_limit_exceeded" : null;
  return Response.json({ error: { message, type, param: null, code } }, { status, headers });
}

function anthropicError(status: number, message: string, headers: Record<string, string> = {}): Response {
  const type =
    status === 401
      ? "authentication_error"
      : status === 429
        ? "rate_limit_error"
        : status === 529
          ? "overloaded_error"
          : status >= 500
            ? "api_error"
            : "invalid_request_error";
  return Response.json({ type: "error", error: { type, message } }, { status, headers });
}

function streamResponse(parts: AsyncIterable<string> | Iterable<string>): Response {
  const iterator = (async function* () {
    yield* parts;
  })();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
  });
}

async function* paced(parts: string[], delayMs: number): AsyncGenerator<string> {
  for (const part of parts) {
    if (delayMs > 0) await Bun.sleep(delayMs);
    yield part;
  }
}

function usageOf(reply: FakeReply): { input: number; output: number } {
  if (reply.kind === "text" && reply.usage) return reply.usage;
  return { input: 11, output: "chunks" in reply ? (reply.chunks?.length ?? 0) : 0 };
}

function openAiStream(reply: FakeReply, model: string): Response {
  const id = `chatcmpl-${crypto.randomUUID().slice(0, 12)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (
    delta: Record<string, unknown>,
    finish: string | null = null,
    extra: Record<string, unknown> = {},
  ) =>
    sse({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });
  const chunks = "chunks" in reply ? (reply.chunks ?? []) : [];
  const parts = [
    chunk({ role: "assistant", content: "" }),
    ...chunks.map((text) => chunk({ content: text })),
  ];
  if (reply.kind === "text") {
    parts.push(chunk({}, reply.stopReason ?? "stop"));
    parts.push(
      sse({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        choices: [],
        usage: {
          prompt_tokens: usageOf(reply).input,
          completion_tokens: usageOf(reply).output,
          total_tokens: usageOf(reply).input + usageOf(reply).output,
        },
      }),
    );
    parts.push(sse("[DONE]"));
  } else if (reply.kind === "tool_calls") {
    parts.push(...openAiToolCallParts(reply, chunk));
  } else if (reply.kind === "malformed") {
    parts.push('data: {"id": "chatcmpl-broken", "choices": [{"delta": {"content": \n\n');
  } else if (reply.kind === "stream_error") {
    parts.push(
      sse({
        error: {
          message: reply.message ?? "The server had an error",
          type: reply.errorType ?? "server_error",
        },
      }),
    );
  }
  return streamResponse(paced(parts, reply.kind === "text" ? (reply.delayMs ?? 0) : 0));
}

function anthropicStream(reply: FakeReply, model: string): Response {
  const chunks = "chunks" in reply ? (reply.chunks ?? []) : [];
  const parts = [
    sse(
      {
        type: "message_start",
        message: {
          id: `msg_${crypto.randomUUID().slice(0, 12)}`,
          type: "message",
          role: "assistant",
          content: [],
          model,
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: usageOf(reply).input, output_tokens: 1 },
        },
      },
      "message_start",
    ),
    sse(
      { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
      "content_block_start",
    ),
    sse({ type: "ping" }, "ping"),
    ...chunks.map((text) =>
      sse(
        { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } },
        "content_block_delta",
      ),
    ),
  ];
  if (reply.kind === "text") {
    parts.push(sse({ type: "content_block_stop", index: 0 }, "content_block_stop"));
    parts.push(
      sse(
        {
          type: "message_delta",
          delta: { stop_reason: reply.stopReason ?? "end_turn", stop_sequence: null },
          usage: { output_tokens: usageOf(reply).output },
        },
        "message_delta",
      ),
    );
    parts.push(sse({ type: "message_stop" }, "message_stop"));
  } else if (reply.kind === "tool_calls") {
    parts.push(...anthropicToolCallParts(reply, usageOf(reply).output));
  } else if (reply.kind === "malformed") {
    parts.push('event: content_block_delta\ndata: {"type": "content_block_delta", "delta": {\n\n');
  } else if (reply.kind === "stream_error") {
    parts.push(
      sse(
        {
          type: "error",
          error: { type: reply.errorType ?? "overloaded_error", message: reply.message ?? "Overloaded" },
        },
        "error",
      ),
    );
  }
  return streamResponse(paced(parts, reply.kind === "text" ? (reply.delayMs ?? 0) : 0));
}

async function handleApi(state: State, request: Request, url: URL): Promise<Response> {
  const api = url.pathname.endsWith("/chat/completions")
    ? "openai"
    : url.pathname.endsWith("/v1/messages")
      ? "anthropic"
      : "unknown";
  const text = await request.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Recorded as text; rejected below.
  }
  state.requests.push({
    api,
    method: request.method,
    path: url.pathname,
    query: url.search,
    headers: Object.fromEntries(request.headers.entries()),
    body,
  });
  if (api === "unknown" || request.method !== "POST") {
    return Response.json(
      { error: { message: `no route ${request.method} ${url.pathname}` } },
      { status: 404 },
    );
  }
  const error = api === "openai" ? openAiError : anthropicError;
  const key =
    api === "openai"
      ? (/^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1] ?? "")
      : (request.headers.get("x-api-key") ?? "");
  if (!key || (state.keys && !state.keys.includes(key))) {
    return error(401, api === "openai" ? "Incorrect API key provided." : "invalid x-api-key");
  }
  const payload = body as { model?: unknown; messages?: unknown; stream?: unknown; max_tokens?: unknown };
  if (typeof body !== "object" || body === null) return error(400, "the body must be JSON");
  if (typeof payload.model !== "string" || !Array.isArray(payload.messages)) {
    return error(400, "model and messages are required");
  }
  if (api === "anthropic") {
    if (!request.headers.get("anthropic-version")) return error(400, "anthropic-version: header is required");
    if (typeof payload.max_tokens !== "number") return error(400, "max_tokens: Field required");
  }
  if (payload.stream !== true) return error(400, "this fake only answers streaming requests (stream: true)");
  const toolProblem =
    api === "openai" ? openAiToolProblem(payload.messages) : anthropicToolProblem(payload.messages);
  if (toolProblem) return error(400, toolProblem);

  const reply = pickReply(state, lastUserText(body));
  if (reply.kind === "http_error") {
    const headers: Record<string, string> = reply.retryAfter ? { "retry-after": reply.retryAfter } : {};
    return error(reply.status, reply.message ?? `scripted error ${reply.status}`, headers);
  }
  const model = reply.kind === "text" && reply.model ? reply.model : payload.model;
  return api === "openai" ? openAiStream(reply, model) : anthropicStream(reply, model);
}

async function handleControl(state: State, request: Request, url: URL): Promise<Response> {
  switch (`${request.method} ${url.pathname}`) {
    case "POST /_fake/script":
      state.rules = ((await request.json()) as { rules: FakeRule[] }).rules.map((rule) => ({ ...rule }));
      return new Response(null, { status: 204 });
    case "POST /_fake/keys":
      state.keys = ((await request.json()) as { keys: string[] | null }).keys;
      return new Response(null, { status: 204 });
    case "GET /_fake/requests":
      return Response.json(state.requests);
    case "DELETE /_fake/requests":
      state.requests = [];
      return new Response(null, { status: 204 });
    default:
      return Response.json({ error: "unknown control endpoint" }, { status: 404 });
  }
}

/** `tls`: serve HTTPS with this certificate (test/helpers/test_ca.ts), as a real provider does. */
export function startFakeProvider(
  options: { hostname?: string; port?: number; tls?: { cert: string; key: string } } = {},
): FakeProvider {
  const state: State = { rules: [], keys: null, requests: [] };
  const server = Bun.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    // Scripted replies may pause longer than Bun's default idle timeout.
    idleTimeout: 0,
    ...(options.tls ? { tls: options.tls } : {}),
    fetch(request) {
      const url = new URL(request.url);
      return url.pathname.startsWith("/_fake/")
        ? handleControl(state, request, url)
        : handleApi(state, request, url);
    },
  });
  const host = server.hostname?.includes(":") ? `[${server.hostname}]` : server.hostname;
  const url = `${options.tls ? "https" : "http"}://${host}:${server.port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    async script(rules) {
      state.rules = rules.map((rule) => ({ ...rule }));
    },
    async acceptKeys(keys) {
      state.keys = keys;
    },
    async requests() {
      return structuredClone(state.requests);
    },
    async clearRequests() {
      state.requests = [];
    },
    async stop() {
      await server.stop(true);
    },
  };
}

/** Drives a fake provider running in another process (see the file comment). */
export function connectFakeProvider(
  url: string,
  stopProcess: () => Promise<void>,
  /** The CA to trust when the fake serves HTTPS (--tls-cert). */
  ca?: string,
): FakeProvider {
  const control = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/_fake/${path}`, {
      ...(ca ? { tls: { ca } } : {}),
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`fake provider: ${method} ${path} answered ${response.status}`);
    return response;
  };
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    async script(rules) {
      await control("POST", "script", { rules });
    },
    async acceptKeys(keys) {
      await control("POST", "keys", { keys });
    },
    async requests() {
      return (await (await control("GET", "requests")).json()) as RecordedRequest[];
    },
    async clearRequests() {
      await control("DELETE", "requests");
    },
    stop: stopProcess,
  };
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
    },
  });
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  const fake = startFakeProvider({
    hostname: values.host ?? "127.0.0.1",
    port: Number(values.port ?? 0),
    ...(certFile && keyFile
      ? { tls: { cert: await Bun.file(certFile).text(), key: await Bun.file(keyFile).text() } }
      : {}),
  });
  process.stdout.write(`READY ${fake.url}\n`);
  // Exit with the parent: when it goes, stdin closes.
  for await (const _ of Bun.stdin.stream()) {
    // Input is ignored; only its end matters.
  }
  await fake.stop();
  process.exit(0);
}
