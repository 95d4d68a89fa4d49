// WhatsApp through the Cloud API's webhooks, relayed by the platform's hook route. Meta first checks
// the URL with a GET (`hub.mode=subscribe`, `hub.verify_token`, echoed `hub.challenge`); then every
// POST carries X-Hub-Signature-256 over the raw body, checked before anything is read. A text
// message from an allowed number is answered with a text message (one conversation per number,
// `whatsapp:<number>`). Meta redelivers unanswered webhooks, so each is acknowledged at once and
// message ids are remembered.
import { constantTimeEqual } from "../../common/crypto.ts";
import {
  type ChannelDeps,
  type ChannelDriver,
  ChannelError,
  type Connector,
  channelTurn,
  idList,
  json,
  optionalSecret,
  type Raw,
  SeenIds,
  type StatusSink,
  type StoredChannel,
  stringList,
} from "./driver.ts";
import { metaSignatureValid } from "./platform_signatures.ts";
import { splitForTelegram } from "./telegram_api.ts";
import { WHATSAPP_MAX_TEXT, WhatsAppApi, WhatsAppError } from "./whatsapp_api.ts";

const PHONE = /^\d{6,15}$/;
const PHONE_NUMBER_ID = /^\d{5,30}$/;
const ACCESS_TOKEN = /^[A-Za-z0-9_-]{20,1000}$/;
const APP_SECRET = /^[A-Za-z0-9]{16,128}$/;
const VERIFY_TOKEN = /^[\x21-\x7e]{8,200}$/;

type Message = { id?: string; from?: string; type?: string; text?: { body?: string } };

class WhatsAppConnector implements Connector {
  readonly mode = "webhook";
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly seen = new SeenIds();
  private readonly warned = new Set<string>();

  constructor(
    private readonly deps: ChannelDeps,
    private readonly api: WhatsAppApi,
    private readonly secrets: { appSecret: string; verifyToken: string },
    private readonly allowed: string[],
  ) {}

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  async webhook(request: Request, rawBody: string): Promise<Response> {
    if (request.method === "GET") return this.handshake(new URL(request.url).searchParams);
    if (!(await metaSignatureValid(this.secrets.appSecret, request.headers, rawBody))) {
      this.deps.log.warn("whatsapp webhook refused", { reason: "bad signature" });
      return json(401, { error: { code: "unauthorized", message: "bad signature" } });
    }
    let payload: { entry?: { changes?: { value?: { messages?: Message[] } }[] }[] };
    try {
      payload = JSON.parse(rawBody);
    } catch {
      return json(400, { error: { code: "bad_request", message: "the notification is not JSON" } });
    }
    for (const entry of Array.isArray(payload.entry) ? payload.entry : []) {
      for (const change of Array.isArray(entry?.changes) ? entry.changes : []) {
        const messages = change?.value?.messages;
        for (const message of Array.isArray(messages) ? messages : []) {
          if (!isText(message) || !this.seen.first(message.id as string)) continue;
          this.dispatch(message.from as string, String(message.text?.body ?? "").trim());
        }
      }
    }
    return json(200, { ok: true });
  }

  private handshake(query: URLSearchParams): Response {
    const challenge = query.get("hub.challenge") ?? "";
    if (
      query.get("hub.mode") !== "subscribe" ||
      !constantTimeEqual(query.get("hub.verify_token") ?? "", this.secrets.verifyToken) ||
      !/^[A-Za-z0-9_-]{1,200}$/.test(challenge)
    ) {
      this.deps.log.warn("whatsapp verification refused", { reason: "bad verify token" });
      return json(403, { error: { code: "forbidden", message: "verification failed" } });
    }
    return new Response(challenge, { status: 200, headers: { "content-type": "text/plain; charset=utf-8" } });
  }

  private dispatch(from: string, text: string): void {
    const task = this.answer(from, text).catch((error) => {
      this.deps.log.error("whatsapp message failed", {
        error: error instanceof Error ? error.message : "unknown",
      });
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private async answer(from: string, text: string): Promise<void> {
    const signal = this.abort.signal;
    if (!this.allowed.includes(from)) {
      if (this.warned.has(from)) return;
      this.warned.add(from);
      await this.api.sendText(
        from,
        `This assistant is private. To use it, add the number ${from} to the allowed numbers in clawfleet.`,
        signal,
      );
      return;
    }
    const reply = await channelTurn(this.deps.chat, "whatsapp", `whatsapp:${from}`, text, signal);
    if (reply === null) return;
    for (const part of splitForTelegram(reply, WHATSAPP_MAX_TEXT))
      await this.api.sendText(from, part, signal);
  }
}

function isText(message: Message): boolean {
  return (
    message?.type === "text" &&
    typeof message.id === "string" &&
    typeof message.from === "string" &&
    PHONE.test(message.from) &&
    typeof message.text?.body === "string" &&
    message.text.body.trim() !== ""
  );
}

export class WhatsAppDriver implements ChannelDriver {
  readonly name = "whatsapp";
  constructor(private readonly deps: ChannelDeps) {}

  async prepare(input: Raw, current: StoredChannel | null) {
    const phoneNumberId =
      input.phone_number_id !== undefined
        ? (optionalSecret(input.phone_number_id, PHONE_NUMBER_ID, "phone_number_id must be digits") as string)
        : typeof current?.settings.phone_number_id === "string"
          ? current.settings.phone_number_id
          : null;
    const settings: Raw = {
      phone_number_id: phoneNumberId,
      allowed_numbers:
        input.allowed_numbers !== undefined
          ? idList(
              input.allowed_numbers,
              PHONE,
              "allowed_numbers must be a list of at most 100 phone numbers in international form, digits only",
            )
          : stringList(current?.settings.allowed_numbers),
    };
    const fresh = {
      access_token: optionalSecret(
        input.access_token,
        ACCESS_TOKEN,
        "access_token must be a WhatsApp access token",
      ),
      app_secret: optionalSecret(input.app_secret, APP_SECRET, "app_secret must be the Meta app's secret"),
      verify_token: optionalSecret(
        input.verify_token,
        VERIFY_TOKEN,
        "verify_token must be 8-200 visible characters",
      ),
    };
    const secrets: Record<string, string> = { ...current?.secrets };
    for (const [name, value] of Object.entries(fresh)) {
      if (!value) continue;
      this.deps.scrubber.add(value);
      secrets[name] = value;
    }
    if (!phoneNumberId || !secrets.access_token || !secrets.app_secret || !secrets.verify_token) {
      throw new ChannelError(
        "bad_request",
        "phone_number_id, access_token, app_secret and verify_token are required to set up WhatsApp.",
      );
    }
    if (!fresh.access_token && input.phone_number_id === undefined) return { settings, secrets };
    try {
      const phone = await new WhatsAppApi(
        this.deps.config.whatsapp.apiBase,
        secrets.access_token,
        phoneNumberId,
      ).phoneNumber();
      return { settings, secrets, state: { display_phone_number: phone } };
    } catch (error) {
      if (error instanceof WhatsAppError && error.kind === "unauthorized")
        throw new ChannelError("rejected", error.message);
      throw new ChannelError(
        "unreachable",
        error instanceof WhatsAppError ? error.message : "WhatsApp sent an unexpected answer.",
      );
    }
  }

  start(stored: StoredChannel, webhookUrl: string | null, onStatus: StatusSink): Connector {
    const connector = new WhatsAppConnector(
      { ...this.deps, log: this.deps.log.child({ channel: "whatsapp" }) },
      new WhatsAppApi(
        this.deps.config.whatsapp.apiBase,
        stored.secrets.access_token ?? "",
        String(stored.settings.phone_number_id ?? ""),
      ),
      { appSecret: stored.secrets.app_secret ?? "", verifyToken: stored.secrets.verify_token ?? "" },
      stringList(stored.settings.allowed_numbers),
    );
    if (webhookUrl) onStatus("webhook", null);
    else
      onStatus(
        "error",
        "WhatsApp needs the platform's public URL (CLAWFLEET_PUBLIC_URL) to deliver messages.",
      );
    return connector;
  }

  describe(stored: StoredChannel | null): Raw {
    const phone = stored?.state.display_phone_number;
    return {
      phone_number_id:
        typeof stored?.settings.phone_number_id === "string" ? stored.settings.phone_number_id : null,
      allowed_numbers: stringList(stored?.settings.allowed_numbers),
      display_phone_number: typeof phone === "string" ? phone : null,
    };
  }
}
