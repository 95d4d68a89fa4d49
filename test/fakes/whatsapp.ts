// A local fake of the WhatsApp Cloud API (Meta Graph API, https://developers.facebook.com/docs/
// whatsapp/cloud-api): `GET /v21.0/<phone number id>` and `POST /v21.0/<phone number id>/messages`
// with a Bearer access token (a bad one gets HTTP 401 with OAuthException code 190), and Meta's side
// of webhooks: the verification GET (`hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`) and
// notifications signed with the app secret (X-Hub-Signature-256 `sha256=<hex HMAC of the body>`).
import { controlOf, type Delivery, deliver, hmacHex, runAsProcess, waitForCount } from "./fake_control.ts";

export const GRAPH_VERSION = "v21.0";

export type WhatsAppSent = { to: string; text: string };
export type WhatsAppNumber = {
  phoneNumberId: string;
  accessToken: string;
  appSecret: string;
  display: string;
};

export type FakeWhatsApp = {
  /** The Graph API base with its version (CLAWFLEET_WHATSAPP_API_BASE). */
  apiBase: string;
  addNumber(number: WhatsAppNumber): Promise<void>;
  /** Meta's verification request; `verifyToken` is what the app owner typed into Meta's dashboard. */
  verify(phoneNumberId: string, url: string, verifyToken: string): Promise<Delivery & { challenge: string }>;
  /** A user writes from `from`; Meta delivers a signed notification (`wrongSecret` signs with another). */
  userSays(
    phoneNumberId: string,
    url: string,
    from: string,
    text: string,
    wrongSecret?: boolean,
  ): Promise<Delivery>;
  sent(phoneNumberId: string): Promise<WhatsAppSent[]>;
  waitForSent(phoneNumberId: string, count: number, timeoutMs?: number): Promise<WhatsAppSent[]>;
  stop(): Promise<void>;
};

type State = WhatsAppNumber & { sent: WhatsAppSent[] };

const oauthError = () =>
  Response.json(
    {
      error: {
        message: "Invalid OAuth access token - Cannot parse access token",
        type: "OAuthException",
        code: 190,
        fbtrace_id: "Afake",
      },
    },
    { status: 401 },
  );

function serve(hostname: string, port: number) {
  const numbers = new Map<string, State>();

  async function control(request: Request, url: URL): Promise<Response> {
    const body = request.method === "POST" ? ((await request.json()) as Record<string, unknown>) : {};
    const id = String(body.phoneNumberId ?? url.searchParams.get("id") ?? "");
    const route = `${request.method} ${url.pathname}`;
    if (route === "POST /_fake/numbers") {
      numbers.set(id, { ...(body as WhatsAppNumber), sent: [] });
      return Response.json({});
    }
    const number = numbers.get(id);
    if (!number) return Response.json({ error: "unknown number" }, { status: 404 });
    switch (route) {
      case "GET /_fake/sent":
        return Response.json(number.sent);
      case "POST /_fake/verify": {
        const challenge = String(Math.floor(Math.random() * 1e9));
        const target = new URL(String(body.url));
        target.searchParams.set("hub.mode", "subscribe");
        target.searchParams.set("hub.challenge", challenge);
        target.searchParams.set("hub.verify_token", String(body.verifyToken));
        return Response.json({ ...(await deliver(target.toString(), { method: "GET" })), challenge });
      }
      case "POST /_fake/messages": {
        const payload = JSON.stringify({
          object: "whatsapp_business_account",
          entry: [
            {
              id: "WABA0FAKE",
              changes: [
                {
                  field: "messages",
                  value: {
                    messaging_product: "whatsapp",
                    metadata: { display_phone_number: number.display, phone_number_id: number.phoneNumberId },
                    contacts: [{ profile: { name: "Test" }, wa_id: String(body.from) }],
                    messages: [
                      {
                        from: String(body.from),
                        id: `wamid.${crypto.randomUUID().replaceAll("-", "")}`,
                        timestamp: String(Math.floor(Date.now() / 1000)),
                        type: "text",
                        text: { body: String(body.text) },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        });
        const secret = body.wrongSecret ? `${number.appSecret}x` : number.appSecret;
        return Response.json(
          await deliver(String(body.url), {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "x-hub-signature-256": `sha256=${await hmacHex(secret, payload)}`,
            },
            body: payload,
          }),
        );
      }
    }
    return Response.json({ error: "no such control" }, { status: 404 });
  }

  async function graph(request: Request, id: string, edge: string | undefined): Promise<Response> {
    const number = numbers.get(id);
    const token = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
    if (!number || token !== number.accessToken) return oauthError();
    if (!edge && request.method === "GET") {
      return Response.json({
        verified_name: "Clawfleet Test",
        display_phone_number: number.display,
        id,
        quality_rating: "GREEN",
      });
    }
    if (edge === "messages" && request.method === "POST") {
      const body = (await request.json().catch(() => null)) as {
        messaging_product?: string;
        to?: string;
        type?: string;
        text?: { body?: string };
      } | null;
      if (
        body?.messaging_product !== "whatsapp" ||
        typeof body.to !== "string" ||
        body.type !== "text" ||
        typeof body.text?.body !== "string"
      ) {
        return Response.json(
          { error: { message: "(#100) Invalid parameter", type: "OAuthException", code: 100 } },
          { status: 400 },
        );
      }
      if (body.text.body.length > 4096) {
        return Response.json(
          { error: { message: "(#100) Param text['body'] is too long", type: "OAuthException", code: 100 } },
          { status: 400 },
        );
      }
      number.sent.push({ to: body.to, text: body.text.body });
      return Response.json({
        messaging_product: "whatsapp",
        contacts: [{ input: body.to, wa_id: body.to }],
        messages: [{ id: `wamid.${crypto.randomUUID()}` }],
      });
    }
    return Response.json(
      { error: { message: "Unsupported request", type: "GraphMethodException", code: 100 } },
      { status: 400 },
    );
  }

  const server = Bun.serve({
    hostname,
    port,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/_fake/")) return control(request, url);
      const match = new RegExp(`^/${GRAPH_VERSION}/(\\d+)(?:/([a-z_]+))?$`).exec(url.pathname);
      if (!match) return Response.json({ error: { message: "Unknown path", code: 803 } }, { status: 404 });
      return graph(request, match[1] as string, match[2]);
    },
  });
  return { url: `http://${server.hostname}:${server.port}`, stop: () => server.stop(true) };
}

export function connectFakeWhatsApp(url: string, stop: () => Promise<void>): FakeWhatsApp {
  const control = controlOf(url, "whatsapp");
  const sent = (id: string) => control<WhatsAppSent[]>("GET", `sent?id=${encodeURIComponent(id)}`);
  return {
    apiBase: `${url}/${GRAPH_VERSION}`,
    addNumber: async (number) => void (await control("POST", "numbers", number)),
    verify: (phoneNumberId, target, verifyToken) =>
      control("POST", "verify", { phoneNumberId, url: target, verifyToken }),
    userSays: (phoneNumberId, target, from, text, wrongSecret) =>
      control("POST", "messages", { phoneNumberId, url: target, from, text, wrongSecret }),
    sent,
    waitForSent: (id, count, timeoutMs) =>
      waitForCount("fake whatsapp sent", () => sent(id), count, timeoutMs),
    stop,
  };
}

export function startFakeWhatsApp(options: { hostname?: string; port?: number } = {}): FakeWhatsApp {
  const server = serve(options.hostname ?? "127.0.0.1", options.port ?? 0);
  return connectFakeWhatsApp(server.url, server.stop);
}

if (import.meta.main) await runAsProcess(serve);
