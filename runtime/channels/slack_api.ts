// A small Slack Web API client: POST {apiBase}/<method> with a JSON body and `Authorization: Bearer
// <bot token>`; answers are `{ok: true, …}` or `{ok: false, error}` (HTTP 429 with Retry-After when
// rate limited). Errors are rebuilt from Slack's error codes, never from a URL or a raw fetch error.

export type SlackErrorKind = "unauthorized" | "rate_limited" | "unreachable" | "api";

export class SlackError extends Error {
  override name = "SlackError";
  constructor(
    readonly kind: SlackErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const SLACK_BOT_TOKEN = /^xoxb-[A-Za-z0-9-]{10,250}$/;
export const SLACK_SIGNING_SECRET = /^[A-Za-z0-9]{16,128}$/;
/** Slack truncates longer messages; replies are cut well below. */
export const SLACK_MAX_TEXT = 3900;

const AUTH_ERRORS = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
]);

export type SlackIdentity = { team: string | null; userId: string | null; botId: string | null };

export class SlackApi {
  constructor(
    private readonly apiBase: string,
    private readonly token: string,
  ) {}

  async authTest(): Promise<SlackIdentity> {
    const answer = await this.call("auth.test", {});
    return {
      team: typeof answer.team === "string" ? answer.team : null,
      userId: typeof answer.user_id === "string" ? answer.user_id : null,
      botId: typeof answer.bot_id === "string" ? answer.bot_id : null,
    };
  }

  async postMessage(channel: string, text: string, signal?: AbortSignal): Promise<void> {
    await this.call("chat.postMessage", { channel, text }, signal);
  }

  private async call(method: string, body: unknown, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const timeout = AbortSignal.timeout(15_000);
    let response: Response;
    try {
      response = await fetch(`${this.apiBase}/${method}`, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", authorization: `Bearer ${this.token}` },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new SlackError("unreachable", `Could not reach Slack at ${new URL(this.apiBase).host}.`);
    }
    if (response.status === 429) {
      throw new SlackError(
        "rate_limited",
        `Slack rate limit reached (retry after ${response.headers.get("retry-after") ?? "?"} s).`,
      );
    }
    let answer: Record<string, unknown>;
    try {
      answer = (await response.json()) as Record<string, unknown>;
    } catch {
      throw new SlackError("api", `Slack answered ${method} with HTTP ${response.status} and no JSON.`);
    }
    if (answer.ok === true) return answer;
    const code = typeof answer.error === "string" ? answer.error.slice(0, 80) : `HTTP ${response.status}`;
    if (AUTH_ERRORS.has(code))
      throw new SlackError("unauthorized", `Slack rejected the bot token (${code}).`);
    throw new SlackError("api", `Slack refused ${method} (${code}).`);
  }
}
