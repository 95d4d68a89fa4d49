// A local fake of Slack for the Events API (https://api.slack.com/apis/events-api): the Web API
// methods auth.test and chat.postMessage (POST /api/<method>, Bearer bot token, answers
// `{ok: true, …}` or `{ok: false, error}` with HTTP 200 as Slack does), and Slack's side of event
// delivery: url_verification and event_callback requests signed with the app's signing secret
// (X-Slack-Signature `v0=<hex HMAC of "v0:<timestamp>:<body>">`, X-Slack-Request-Timestamp).
import { controlOf, type Delivery, deliver, hmacHex, runAsProcess, waitForCount } from "./fake_control.ts";

export type SlackPosted = { channel: string; text: string };
export type SlackApp = { botToken: string; signingSecret: string; team: string; botUserId: string };
/** Tampering a test may ask for, to see that the receiver refuses it. */
export type SlackTamper = { timestampOffsetSeconds?: number; wrongSecret?: boolean };

export type FakeSlack = {
  /** The Web API base (CLAWFLEET_SLACK_API_BASE). */
  apiBase: string;
  addApp(app: SlackApp): Promise<void>;
  /** Slack checks a Request URL: a signed url_verification with a random challenge. */
  verifyUrl(botToken: string, url: string, tamper?: SlackTamper): Promise<Delivery & { challenge: string }>;
  /** A user writes in a channel; Slack delivers a signed event_callback (message event). */
  userSays(
    botToken: string,
    url: string,
    event: { user: string; channel: string; text: string; eventId?: string },
    tamper?: SlackTamper,
  ): Promise<Delivery>;
  posted(botToken: string): Promise<SlackPosted[]>;
  waitForPosted(botToken: string, count: number, timeoutMs?: number): Promise<SlackPosted[]>;
  stop(): Promise<void>;
};

type State = SlackApp & { posted: SlackPosted[] };

function serve(hostname: string, port: number) {
  const apps = new Map<string, State>();

  async function signedPost(
    app: State,
    url: string,
    payload: unknown,
    tamper: SlackTamper = {},
  ): Promise<Delivery> {
    const body = JSON.stringify(payload);
    const timestamp = String(Math.floor(Date.now() / 1000) + (tamper.timestampOffsetSeconds ?? 0));
    const secret = tamper.wrongSecret ? `${app.signingSecret}x` : app.signingSecret;
    return deliver(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": `v0=${await hmacHex(secret, `v0:${timestamp}:${body}`)}`,
      },
      body,
    });
  }

  async function control(request: Request, url: URL): Promise<Response> {
    const body = request.method === "POST" ? ((await request.json()) as Record<string, unknown>) : {};
    const token = String(body.botToken ?? url.searchParams.get("token") ?? "");
    const route = `${request.method} ${url.pathname}`;
    if (route === "POST /_fake/apps") {
      apps.set(token, { ...(body as SlackApp), posted: [] });
      return Response.json({});
    }
    const app = apps.get(token);
    if (!app) return Response.json({ error: "unknown app" }, { status: 404 });
    const tamper = (body.tamper ?? {}) as SlackTamper;
    switch (route) {
      case "GET /_fake/posted":
        return Response.json(app.posted);
      case "POST /_fake/verify": {
        const challenge = crypto.randomUUID().replaceAll("-", "");
        const payload = { token: "deprecated-verification-token", challenge, type: "url_verification" };
        return Response.json({ ...(await signedPost(app, String(body.url), payload, tamper)), challenge });
      }
      case "POST /_fake/events": {
        const event = body.event as { user: string; channel: string; text: string; eventId?: string };
        const ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
        const payload = {
          token: "deprecated-verification-token",
          team_id: "T0FAKE",
          api_app_id: "A0FAKE",
          type: "event_callback",
          event_id:
            event.eventId ?? `Ev${crypto.randomUUID().replaceAll("-", "").slice(0, 10).toUpperCase()}`,
          event_time: Math.floor(Date.now() / 1000),
          event: {
            type: "message",
            channel: event.channel,
            user: event.user,
            text: event.text,
            ts,
            channel_type: "im",
          },
        };
        return Response.json(await signedPost(app, String(body.url), payload, tamper));
      }
    }
    return Response.json({ error: "no such control" }, { status: 404 });
  }

  async function webApi(request: Request, method: string): Promise<Response> {
    const token = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
    const app = apps.get(token);
    if (!app) return Response.json({ ok: false, error: token ? "invalid_auth" : "not_authed" });
    let params: Record<string, unknown> = {};
    try {
      params = (await request.json()) as Record<string, unknown>;
    } catch {
      return Response.json({ ok: false, error: "invalid_json" });
    }
    if (method === "auth.test") {
      return Response.json({
        ok: true,
        url: "https://fake.slack.test/",
        team: app.team,
        user: "clawfleet",
        team_id: "T0FAKE",
        user_id: app.botUserId,
        bot_id: "B0FAKE",
      });
    }
    if (method === "chat.postMessage") {
      if (typeof params.channel !== "string" || params.channel === "")
        return Response.json({ ok: false, error: "channel_not_found" });
      if (typeof params.text !== "string" || params.text === "")
        return Response.json({ ok: false, error: "no_text" });
      if (params.text.length > 40_000) return Response.json({ ok: false, error: "msg_too_long" });
      app.posted.push({ channel: params.channel, text: params.text });
      return Response.json({
        ok: true,
        channel: params.channel,
        ts: `${Date.now() / 1000}`,
        message: { text: params.text, bot_id: "B0FAKE" },
      });
    }
    return Response.json({ ok: false, error: "unknown_method" }, { status: 404 });
  }

  const server = Bun.serve({
    hostname,
    port,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/_fake/")) return control(request, url);
      const match = /^\/api\/([a-zA-Z.]+)$/.exec(url.pathname);
      if (!match || request.method !== "POST")
        return Response.json({ ok: false, error: "unknown_method" }, { status: 404 });
      return webApi(request, match[1] as string);
    },
  });
  return { url: `http://${server.hostname}:${server.port}`, stop: () => server.stop(true) };
}

export function connectFakeSlack(url: string, stop: () => Promise<void>): FakeSlack {
  const control = controlOf(url, "slack");
  const posted = (token: string) =>
    control<SlackPosted[]>("GET", `posted?token=${encodeURIComponent(token)}`);
  return {
    apiBase: `${url}/api`,
    addApp: async (app) => void (await control("POST", "apps", app)),
    verifyUrl: (botToken, target, tamper) => control("POST", "verify", { botToken, url: target, tamper }),
    userSays: (botToken, target, event, tamper) =>
      control("POST", "events", { botToken, url: target, event, tamper }),
    posted,
    waitForPosted: (token, count, timeoutMs) =>
      waitForCount("fake slack posted", () => posted(token), count, timeoutMs),
    stop,
  };
}

export function startFakeSlack(options: { hostname?: string; port?: number } = {}): FakeSlack {
  const server = serve(options.hostname ?? "127.0.0.1", options.port ?? 0);
  return connectFakeSlack(server.url, server.stop);
}

if (import.meta.main) await runAsProcess(serve);
