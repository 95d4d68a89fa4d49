// Slack through the Events API: Slack POSTs events to the platform's hook route, which relays them
// here. Every request's signature is checked first (url_verification included); the challenge is
// echoed; a message event from an allowed user is answered with chat.postMessage in the same channel
// (one conversation per Slack channel, `slack:<channel>`). Slack redelivers after 3 s without an
// answer, so the event is acknowledged at once, the reply sent afterwards, and event ids remembered.
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
import { slackSignatureValid } from "./platform_signatures.ts";
import { SLACK_BOT_TOKEN, SLACK_MAX_TEXT, SLACK_SIGNING_SECRET, SlackApi, SlackError } from "./slack_api.ts";
import { splitForTelegram } from "./telegram_api.ts";

const SLACK_ID = /^[A-Z0-9]{2,24}$/;

type SlackEvent = {
  type?: string;
  subtype?: string;
  bot_id?: string;
  user?: string;
  channel?: string;
  text?: string;
};

class SlackConnector implements Connector {
  readonly mode = "webhook";
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly seen = new SeenIds();
  private readonly warned = new Set<string>();

  constructor(
    private readonly deps: ChannelDeps,
    private readonly api: SlackApi,
    private readonly signingSecret: string,
    private readonly allowed: string[],
    private readonly ownUserId: string | null,
  ) {}

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  async webhook(request: Request, rawBody: string): Promise<Response> {
    if (!(await slackSignatureValid(this.signingSecret, request.headers, rawBody))) {
      this.deps.log.warn("slack webhook refused", { reason: "bad signature or stale timestamp" });
      return json(401, { error: { code: "unauthorized", message: "bad signature" } });
    }
    let payload: { type?: string; challenge?: unknown; event_id?: unknown; event?: SlackEvent };
    try {
      payload = JSON.parse(rawBody);
    } catch {
      return json(400, { error: { code: "bad_request", message: "the event is not JSON" } });
    }
    if (payload.type === "url_verification") {
      if (typeof payload.challenge !== "string")
        return json(400, { error: { code: "bad_request", message: "no challenge" } });
      return json(200, { challenge: payload.challenge });
    }
    if (payload.type !== "event_callback" || typeof payload.event_id !== "string")
      return json(200, { ok: true });
    const event = payload.event;
    if (this.seen.first(payload.event_id) && event && this.isUserMessage(event)) this.dispatch(event);
    return json(200, { ok: true });
  }

  private isUserMessage(event: SlackEvent): boolean {
    // Bots (ourselves included), edits and joins carry bot_id or a subtype: answering them would loop.
    return (
      (event.type === "message" || event.type === "app_mention") &&
      !event.subtype &&
      !event.bot_id &&
      typeof event.user === "string" &&
      event.user !== this.ownUserId &&
      typeof event.channel === "string" &&
      SLACK_ID.test(event.channel) &&
      typeof event.text === "string" &&
      event.text.trim() !== ""
    );
  }

  private dispatch(event: SlackEvent): void {
    const task = this.answer(event).catch((error) => {
      this.deps.log.error("slack message failed", {
        error: error instanceof Error ? error.message : "unknown",
      });
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private async answer(event: SlackEvent): Promise<void> {
    const channel = event.channel as string;
    const user = event.user as string;
    const signal = this.abort.signal;
    if (!this.allowed.includes(user)) {
      if (this.warned.has(user)) return;
      this.warned.add(user);
      await this.api.postMessage(
        channel,
        `This assistant is private. To use it, add the Slack user id ${user} to the allowed users in clawfleet.`,
        signal,
      );
      return;
    }
    const text = (event.text as string).replace(/<@[A-Z0-9]+>\s*/g, "").trim() || (event.text as string);
    const reply = await channelTurn(this.deps.chat, "slack", `slack:${channel}`, text, signal);
    if (reply === null) return;
    for (const part of splitForTelegram(reply, SLACK_MAX_TEXT))
      await this.api.postMessage(channel, part, signal);
  }
}

export class SlackDriver implements ChannelDriver {
  readonly name = "slack";
  constructor(private readonly deps: ChannelDeps) {}

  async prepare(input: Raw, current: StoredChannel | null) {
    const settings: Raw = {
      allowed_user_ids:
        input.allowed_user_ids !== undefined
          ? idList(
              input.allowed_user_ids,
              SLACK_ID,
              "allowed_user_ids must be a list of at most 100 Slack user ids (e.g. U012AB3CD)",
            )
          : stringList(current?.settings.allowed_user_ids),
    };
    const botToken = optionalSecret(
      input.bot_token,
      SLACK_BOT_TOKEN,
      "bot_token must be a Slack bot token (xoxb-…)",
    );
    const signingSecret = optionalSecret(
      input.signing_secret,
      SLACK_SIGNING_SECRET,
      "signing_secret must be the app's signing secret (letters and digits)",
    );
    if (!current && (!botToken || !signingSecret)) {
      throw new ChannelError("bad_request", "bot_token and signing_secret are required to set up Slack.");
    }
    const secrets = {
      ...current?.secrets,
      ...(botToken ? { bot_token: botToken } : {}),
      ...(signingSecret ? { signing_secret: signingSecret } : {}),
    };
    for (const value of [botToken, signingSecret]) if (value) this.deps.scrubber.add(value);
    if (!botToken) return { settings, secrets };
    try {
      const identity = await new SlackApi(this.deps.config.slack.apiBase, botToken).authTest();
      return { settings, secrets, state: { team: identity.team, bot_user_id: identity.userId } };
    } catch (error) {
      if (error instanceof SlackError && error.kind === "unauthorized")
        throw new ChannelError("rejected", error.message);
      throw new ChannelError(
        "unreachable",
        error instanceof SlackError ? error.message : "Slack sent an unexpected answer.",
      );
    }
  }

  start(stored: StoredChannel, webhookUrl: string | null, onStatus: StatusSink): Connector {
    const ownUserId = typeof stored.state.bot_user_id === "string" ? stored.state.bot_user_id : null;
    const connector = new SlackConnector(
      { ...this.deps, log: this.deps.log.child({ channel: "slack" }) },
      new SlackApi(this.deps.config.slack.apiBase, stored.secrets.bot_token ?? ""),
      stored.secrets.signing_secret ?? "",
      stringList(stored.settings.allowed_user_ids),
      ownUserId,
    );
    // Slack needs the Request URL pasted into the app's settings: without a public one, nothing arrives.
    if (webhookUrl) onStatus("webhook", null);
    else onStatus("error", "Slack needs the platform's public URL (CLAWFLEET_PUBLIC_URL) to deliver events.");
    return connector;
  }

  describe(stored: StoredChannel | null): Raw {
    const team = stored?.state.team;
    return {
      allowed_user_ids: stringList(stored?.settings.allowed_user_ids),
      team: typeof team === "string" ? team : null,
    };
  }
}
