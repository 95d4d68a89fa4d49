// A small WhatsApp Cloud API (Meta Graph API) client: `GET {base}/<phone number id>` to check the
// access token, `POST {base}/<phone number id>/messages` to send text. Errors are
// `{error: {message, type, code}}`; code 190 (or HTTP 401) is a bad or expired token.

export type WhatsAppErrorKind = "unauthorized" | "rate_limited" | "unreachable" | "api";

export class WhatsAppError extends Error {
  override name = "WhatsAppError";
  constructor(
    readonly kind: WhatsAppErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const WHATSAPP_MAX_TEXT = 4096;

export class WhatsAppApi {
  constructor(
    private readonly apiBase: string,
    private readonly token: string,
    private readonly phoneNumberId: string,
  ) {}

  async phoneNumber(): Promise<string | null> {
    const answer = await this.call("GET", `/${this.phoneNumberId}?fields=display_phone_number`);
    return typeof answer.display_phone_number === "string" ? answer.display_phone_number : null;
  }

  async sendText(to: string, body: string, signal?: AbortSignal): Promise<void> {
    await this.call(
      "POST",
      `/${this.phoneNumberId}/messages`,
      { messaging_product: "whatsapp", recipient_type: "individual", to, type: "text", text: { body } },
      signal,
    );
  }

  private async call(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const timeout = AbortSignal.timeout(15_000);
    let response: Response;
    try {
      response = await fetch(`${this.apiBase}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new WhatsAppError("unreachable", `Could not reach WhatsApp at ${new URL(this.apiBase).host}.`);
    }
    let answer: Record<string, unknown>;
    try {
      answer = (await response.json()) as Record<string, unknown>;
    } catch {
      throw new WhatsAppError("api", `WhatsApp answered with HTTP ${response.status} and no JSON.`);
    }
    if (response.ok) return answer;
    const error = (answer.error ?? {}) as { message?: unknown; code?: unknown };
    const text = typeof error.message === "string" ? error.message.slice(0, 200) : "no description";
    if (response.status === 401 || error.code === 190) {
      throw new WhatsAppError(
        "unauthorized",
        "WhatsApp rejected the access token. Create a new one in Meta's app settings.",
      );
    }
    if (response.status === 429 || error.code === 4 || error.code === 130429) {
      throw new WhatsAppError("rate_limited", `WhatsApp rate limit reached (${text}).`);
    }
    throw new WhatsAppError("api", `WhatsApp refused the request (HTTP ${response.status}: ${text}).`);
  }
}
