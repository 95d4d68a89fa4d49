// A local fake of the Telegram Bot API in webhook mode (https://core.telegram.org/bots/api#setwebhook):
// POST /bot<token>/<method> with JSON; getMe, setWebhook {url, secret_token}, deleteWebhook,
// getWebhookInfo, sendMessage, and getUpdates refused with 409 while a webhook is set, as Telegram
// does. `userSays` makes the update and POSTs it to the registered URL with the
// X-Telegram-Bot-Api-Secret-Token header, like Telegram's servers; with no webhook set it waits for
// getUpdates (long polling, shortened to 2 s). (Telegram itself requires HTTPS
// on ports 443, 80, 88 or 8443; the fake accepts any http(s) URL.)
import { controlOf, type Delivery, deliver, runAsProcess, waitForCount } from "./fake_control.ts";

export type TelegramSent = { chat_id: number; text: string };

export type FakeTelegramWebhook = {
  url: string;
  addBot(token: string, username: string): Promise<void>;
  /** The webhook Telegram would deliver to, and its secret token. */
  webhook(token: string): Promise<{ url: string; secret_token: string } | null>;
  /** A user writes to the bot; the update is delivered to the webhook (`secretToken` overrides the header). */
  userSays(token: string, chatId: number, text: string, secretToken?: string): Promise<Delivery>;
  sent(token: string): Promise<TelegramSent[]>;
  waitForSent(token: string, count: number, timeoutMs?: number): Promise<TelegramSent[]>;
  stop(): Promise<void>;
};

type Update = { update_id: number; message: Record<string, unknown> };
type Bot = {
  id: number;
  username: string;
  webhook: { url: string; secret_token: string } | null;
  nextUpdateId: number;
  sent: TelegramSent[];
  /** Updates waiting for getUpdates while no webhook is set. */
  queue: Update[];
};

const fail = (status: number, description: string) =>
  Response.json({ ok: false, error_code: status, description }, { status });
const ok = (result: unknown) => Response.json({ ok: true, result });

function serve(hostname: string, port: number) {
  const bots = new Map<string, Bot>();
  let nextMessageId = 1;

  async function botApi(bot: Bot, method: string, params: Record<string, unknown>): Promise<Response> {
    switch (method) {
      case "getMe":
        return ok({ id: bot.id, is_bot: true, first_name: bot.username, username: bot.username });
      case "setWebhook": {
        const url = params.url;
        const secret = params.secret_token;
        if (typeof url !== "string" || !/^https?:\/\//.test(url))
          return fail(400, "Bad Request: bad webhook: invalid URL");
        if (secret !== undefined && (typeof secret !== "string" || !/^[A-Za-z0-9_-]{1,256}$/.test(secret)))
          return fail(400, "Bad Request: secret token contains unallowed characters");
        bot.webhook = { url, secret_token: (secret as string | undefined) ?? "" };
        return ok(true);
      }
      case "deleteWebhook":
        bot.webhook = null;
        return ok(true);
      case "getWebhookInfo":
        return ok({ url: bot.webhook?.url ?? "", has_custom_certificate: false, pending_update_count: 0 });
      case "getUpdates":
        if (bot.webhook)
          return fail(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
          );
        if (typeof params.offset === "number") {
          const offset = params.offset;
          bot.queue = bot.queue.filter((u) => u.update_id >= offset);
        }
        // A long poll, shortened: the fake checks its queue every 100 ms for up to 2 s.
        for (
          let waited = 0;
          bot.queue.length === 0 && waited < Math.min(Number(params.timeout ?? 0), 2) * 1000;
          waited += 100
        )
          await Bun.sleep(100);
        return ok(bot.queue.slice(0, 100));
      case "sendMessage": {
        if (typeof params.chat_id !== "number") return fail(400, "Bad Request: chat_id is empty");
        if (typeof params.text !== "string" || params.text === "")
          return fail(400, "Bad Request: message text is empty");
        if (params.text.length > 4096) return fail(400, "Bad Request: message is too long");
        bot.sent.push({ chat_id: params.chat_id, text: params.text });
        return ok({
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: params.chat_id, type: "private" },
          text: params.text,
        });
      }
      default:
        return fail(404, "Not Found");
    }
  }

  async function control(request: Request, url: URL): Promise<Response> {
    const body = request.method === "POST" ? ((await request.json()) as Record<string, unknown>) : {};
    const token = String(body.token ?? url.searchParams.get("token") ?? "");
    const route = `${request.method} ${url.pathname}`;
    if (route === "POST /_fake/bots") {
      bots.set(token, {
        id: 7_100_000_000 + bots.size,
        username: String(body.username),
        webhook: null,
        nextUpdateId: 500_001,
        sent: [],
        queue: [],
      });
      return Response.json({});
    }
    const bot = bots.get(token);
    if (!bot) return Response.json({ error: "unknown bot" }, { status: 404 });
    if (route === "GET /_fake/webhook") return Response.json(bot.webhook);
    if (route === "GET /_fake/sent") return Response.json(bot.sent);
    if (route === "POST /_fake/updates") {
      const chatId = Number(body.chat_id);
      const update = {
        update_id: bot.nextUpdateId++,
        message: {
          message_id: nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: "private", first_name: "Test" },
          from: { id: chatId, is_bot: false, first_name: "Test" },
          text: String(body.text),
        },
      };
      if (!bot.webhook) {
        // Without a webhook the update waits for the bot's next getUpdates, as on Telegram.
        bot.queue.push(update);
        return Response.json({ status: 0, body: "queued for getUpdates" });
      }
      const secret = typeof body.secret_token === "string" ? body.secret_token : bot.webhook.secret_token;
      return Response.json(
        await deliver(bot.webhook.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(secret ? { "x-telegram-bot-api-secret-token": secret } : {}),
          },
          body: JSON.stringify(update),
        }),
      );
    }
    return Response.json({ error: "no such control" }, { status: 404 });
  }

  const server = Bun.serve({
    hostname,
    port,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/_fake/")) return control(request, url);
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
      if (!match) return fail(404, "Not Found");
      const bot = bots.get(decodeURIComponent(match[1] as string));
      if (!bot) return fail(401, "Unauthorized");
      let params: Record<string, unknown> = {};
      const text = await request.text();
      try {
        if (text) params = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return fail(400, "Bad Request: can't parse JSON object");
      }
      return botApi(bot, match[2] as string, params);
    },
  });
  return { url: `http://${server.hostname}:${server.port}`, stop: () => server.stop(true) };
}

export function connectFakeTelegramWebhook(url: string, stop: () => Promise<void>): FakeTelegramWebhook {
  const control = controlOf(url, "telegram");
  const q = (token: string) => `token=${encodeURIComponent(token)}`;
  const sent = (token: string) => control<TelegramSent[]>("GET", `sent?${q(token)}`);
  return {
    url,
    addBot: async (token, username) => void (await control("POST", "bots", { token, username })),
    webhook: (token) => control("GET", `webhook?${q(token)}`),
    userSays: (token, chatId, text, secretToken) =>
      control<Delivery>("POST", "updates", {
        token,
        chat_id: chatId,
        text,
        ...(secretToken ? { secret_token: secretToken } : {}),
      }),
    sent,
    waitForSent: (token, count, timeoutMs) =>
      waitForCount("fake telegram sent", () => sent(token), count, timeoutMs),
    stop,
  };
}

export function startFakeTelegramWebhook(
  options: { hostname?: string; port?: number } = {},
): FakeTelegramWebhook {
  const server = serve(options.hostname ?? "127.0.0.1", options.port ?? 0);
  return connectFakeTelegramWebhook(server.url, server.stop);
}

if (import.meta.main) await runAsProcess(serve);
