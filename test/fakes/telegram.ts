// A local fake of the Telegram Bot API (wire format of https://core.telegram.org/bots/api):
// POST /bot<token>/<method> with JSON, answers {ok: true, result} or
// {ok: false, error_code, description, parameters?: {retry_after}}. It knows getMe, getUpdates (long
// polling with offset and timeout; a newer poll ends an older one with 409, as Telegram does) and
// sendMessage. An unknown token gets 401. Tests play the users through /_fake endpoints.
//
// In-process: `startFakeTelegram()`. As its own process: `bun test/fakes/telegram.ts --host H --port P`,
// then `connectFakeTelegram(url)`. The process exits when its stdin closes.

export type SentMessage = { chat_id: number; text: string; message_id: number };
export type ScriptedFailure = {
  method: string;
  status: number;
  description: string;
  retryAfter?: number;
  times: number;
};

export type FakeTelegram = {
  /** The API base for the connector (CLAWFLEET_TELEGRAM_API_BASE). */
  url: string;
  addBot(token: string, username: string): Promise<void>;
  /** A user writes `text` to the bot in chat `chatId`. */
  userSays(token: string, chatId: number, text: string): Promise<void>;
  sent(token: string): Promise<SentMessage[]>;
  /** Waits until the bot has sent at least `count` messages (bounded by `timeoutMs`). */
  waitForSent(token: string, count: number, timeoutMs?: number): Promise<SentMessage[]>;
  /** The next `times` calls of `method` fail with this status. */
  fail(token: string, failure: ScriptedFailure): Promise<void>;
  /** Methods called per token, in order, with their offsets for getUpdates. */
  calls(token: string): Promise<{ method: string; offset?: number }[]>;
  stop(): Promise<void>;
};

type Update = { update_id: number; message: Record<string, unknown> };
type Bot = {
  id: number;
  username: string;
  updates: Update[];
  nextUpdateId: number;
  sent: SentMessage[];
  failures: ScriptedFailure[];
  calls: { method: string; offset?: number }[];
  poll: { wake: () => void; conflict: () => void } | null;
};

const MAX_POLL_SECONDS = 50;

function fail(status: number, description: string, retryAfter?: number): Response {
  return Response.json(
    {
      ok: false,
      error_code: status,
      description,
      ...(retryAfter ? { parameters: { retry_after: retryAfter } } : {}),
    },
    { status },
  );
}

const ok = (result: unknown) => Response.json({ ok: true, result });

async function getUpdates(bot: Bot, params: { offset?: number; timeout?: number }): Promise<Response> {
  bot.poll?.conflict();
  const offset = params.offset;
  if (typeof offset === "number") bot.updates = bot.updates.filter((u) => u.update_id >= offset);
  if (bot.updates.length === 0 && (params.timeout ?? 0) > 0) {
    const outcome = await new Promise<"wake" | "conflict" | "timeout">((resolve) => {
      const timer = setTimeout(
        () => resolve("timeout"),
        Math.min(params.timeout ?? 0, MAX_POLL_SECONDS) * 1000,
      );
      const poll = {
        wake: () => {
          clearTimeout(timer);
          resolve("wake");
        },
        conflict: () => {
          clearTimeout(timer);
          resolve("conflict");
        },
      };
      bot.poll = poll;
    });
    bot.poll = null;
    if (outcome === "conflict") {
      return fail(
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
      );
    }
  }
  return ok(bot.updates.slice(0, 100));
}

export function startFakeTelegram(options: { hostname?: string; port?: number } = {}): FakeTelegram {
  const bots = new Map<string, Bot>();
  let nextBotId = 7_000_000_001;
  let nextMessageId = 1;

  const botOf = (token: string) => {
    const bot = bots.get(token);
    if (!bot) throw new Error("fake telegram: unknown bot token");
    return bot;
  };
  const state = {
    addBot(token: string, username: string) {
      bots.set(token, {
        id: nextBotId++,
        username,
        updates: [],
        nextUpdateId: 100_001,
        sent: [],
        failures: [],
        calls: [],
        poll: null,
      });
    },
    userSays(token: string, chatId: number, text: string) {
      const bot = botOf(token);
      bot.updates.push({
        update_id: bot.nextUpdateId++,
        message: {
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: "private", first_name: "Test" },
          from: { id: chatId, is_bot: false, first_name: "Test" },
          text,
        },
      });
      bot.poll?.wake();
    },
  };

  async function handleBotApi(request: Request, token: string, method: string): Promise<Response> {
    const bot = bots.get(token);
    if (!bot) return fail(401, "Unauthorized");
    let params: Record<string, unknown> = {};
    const text = await request.text();
    if (text) {
      try {
        params = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail(400, "Bad Request: can't parse JSON object");
      }
    }
    bot.calls.push({ method, ...(typeof params.offset === "number" ? { offset: params.offset } : {}) });
    const failure = bot.failures.find((f) => f.method === method);
    if (failure) {
      if (--failure.times <= 0) bot.failures.splice(bot.failures.indexOf(failure), 1);
      return fail(failure.status, failure.description, failure.retryAfter);
    }
    switch (method) {
      case "getMe":
        return ok({ id: bot.id, is_bot: true, first_name: bot.username, username: bot.username });
      case "getUpdates":
        return getUpdates(bot, params as { offset?: number; timeout?: number });
      case "sendMessage": {
        const chatId = params.chat_id;
        const body = params.text;
        if (typeof chatId !== "number") return fail(400, "Bad Request: chat_id is empty");
        if (typeof body !== "string" || body === "") return fail(400, "Bad Request: message text is empty");
        if (body.length > 4096) return fail(400, "Bad Request: message is too long");
        const message = { message_id: nextMessageId++, chat_id: chatId, text: body };
        bot.sent.push(message);
        return ok({
          message_id: message.message_id,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: "private" },
          from: { id: bot.id, is_bot: true, first_name: bot.username, username: bot.username },
          text: body,
        });
      }
      default:
        return fail(404, "Not Found");
    }
  }

  async function handleControl(request: Request, url: URL): Promise<Response> {
    const body = request.method === "POST" ? ((await request.json()) as Record<string, unknown>) : {};
    const token = String(body.token ?? url.searchParams.get("token") ?? "");
    switch (`${request.method} ${url.pathname}`) {
      case "POST /_fake/bots":
        state.addBot(token, String(body.username));
        return new Response(null, { status: 204 });
      case "POST /_fake/updates":
        state.userSays(token, Number(body.chat_id), String(body.text));
        return new Response(null, { status: 204 });
      case "POST /_fake/failures":
        botOf(token).failures.push(body.failure as ScriptedFailure);
        return new Response(null, { status: 204 });
      case "GET /_fake/sent":
        return Response.json(botOf(token).sent);
      case "GET /_fake/calls":
        return Response.json(botOf(token).calls);
      default:
        return Response.json({ error: "unknown control endpoint" }, { status: 404 });
    }
  }

  const server = Bun.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/_fake/")) {
        try {
          return await handleControl(request, url);
        } catch (error) {
          return Response.json({ error: String(error) }, { status: 400 });
        }
      }
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
      if (!match) return fail(404, "Not Found");
      return handleBotApi(request, decodeURIComponent(match[1] as string), match[2] as string);
    },
  });
  const url = `http://${server.hostname}:${server.port}`;
  return {
    url,
    async addBot(token, username) {
      state.addBot(token, username);
    },
    async userSays(token, chatId, text) {
      state.userSays(token, chatId, text);
    },
    async sent(token) {
      return structuredClone(botOf(token).sent);
    },
    waitForSent: (token, count, timeoutMs) =>
      waitFor(() => Promise.resolve(botOf(token).sent), count, timeoutMs),
    async fail(token, failure) {
      botOf(token).failures.push({ ...failure });
    },
    async calls(token) {
      return structuredClone(botOf(token).calls);
    },
    async stop() {
      for (const bot of bots.values()) bot.poll?.conflict();
      await server.stop(true);
    },
  };
}

async function waitFor(
  read: () => Promise<SentMessage[]>,
  count: number,
  timeoutMs = 10_000,
): Promise<SentMessage[]> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const sent = await read();
    if (sent.length >= count) return structuredClone(sent);
    if (Date.now() > deadline) {
      throw new Error(
        `fake telegram: expected ${count} sent messages, got ${sent.length}: ${JSON.stringify(sent)}`,
      );
    }
    await Bun.sleep(50);
  }
}

/** Drives a fake Telegram running in another process (see the file comment). */
export function connectFakeTelegram(url: string, stopProcess: () => Promise<void>): FakeTelegram {
  const control = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}/_fake/${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`fake telegram: ${method} ${path} answered ${response.status}`);
    return response;
  };
  const sent = async (token: string) =>
    (await (await control("GET", `sent?token=${encodeURIComponent(token)}`)).json()) as SentMessage[];
  return {
    url,
    async addBot(token, username) {
      await control("POST", "bots", { token, username });
    },
    async userSays(token, chatId, text) {
      await control("POST", "updates", { token, chat_id: chatId, text });
    },
    sent,
    waitForSent: (token, count, timeoutMs) => waitFor(() => sent(token), count, timeoutMs),
    async fail(token, failure) {
      await control("POST", "failures", { token, failure });
    },
    async calls(token) {
      return (await (await control("GET", `calls?token=${encodeURIComponent(token)}`)).json()) as {
        method: string;
        offset?: number;
      }[];
    },
    stop: stopProcess,
  };
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({ options: { host: { type: "string" }, port: { type: "string" } } });
  const fake = startFakeTelegram({ hostname: values.host ?? "127.0.0.1", port: Number(values.port ?? 0) });
  process.stdout.write(`READY ${fake.url}\n`);
  for await (const _ of Bun.stdin.stream()) {
    // Input is ignored; only its end matters.
  }
  await fake.stop();
  process.exit(0);
}
