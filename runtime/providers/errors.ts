// What can go wrong talking to an AI provider, as messages a user can act on. Built only from the
// status, the provider's own error text (secrets scrubbed by the caller) and the host: never the key.

export type ProviderErrorCode =
  | "no_key"
  | "auth"
  | "rate_limited"
  | "bad_request"
  | "provider_unavailable"
  | "unreachable"
  | "timeout"
  | "malformed_stream"
  | "incomplete_stream"
  | "stream_error"
  | "cancelled";

export class ProviderError extends Error {
  override name = "ProviderError";
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    readonly status: number | null = null,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

/** `Retry-After` is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed));
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** The human part of a provider's JSON error body: `{error: {message}}` (both APIs) or `{message}`. */
export function providerErrorText(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const error = parsed.error;
    const text =
      typeof error === "string" ? error : typeof error?.message === "string" ? error.message : parsed.message;
    if (typeof text === "string" && text.trim()) return text.trim().slice(0, 300);
  } catch {
    // Not JSON: an HTML error page from a proxy, say. Its text is not worth showing.
  }
  return null;
}

export function httpError(
  label: string,
  status: number,
  body: string,
  retryAfter: string | null,
): ProviderError {
  const detail = providerErrorText(body);
  const suffix = detail ? ` ${label} said: "${detail}"` : "";
  if (status === 401 || status === 403) {
    return new ProviderError(
      "auth",
      `${label} rejected the API key (HTTP ${status}). Check the ${label} key in your clawfleet settings.${suffix}`,
      status,
    );
  }
  if (status === 429) {
    const seconds = parseRetryAfter(retryAfter);
    const when = seconds === null ? "Try again in a moment." : `Try again in ${seconds} s.`;
    return new ProviderError(
      "rate_limited",
      `${label} rate limit reached (HTTP 429). ${when}${suffix}`,
      status,
      seconds,
    );
  }
  if (status >= 500) {
    return new ProviderError(
      "provider_unavailable",
      `${label} is unavailable right now (HTTP ${status}). Try again shortly.${suffix}`,
      status,
      parseRetryAfter(retryAfter),
    );
  }
  return new ProviderError("bad_request", `${label} refused the request (HTTP ${status}).${suffix}`, status);
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ConnectionRefused: "connection refused",
  ENOTFOUND: "the host name does not resolve",
  ECONNRESET: "the connection was reset",
  ConnectionClosed: "the connection was closed",
  ETIMEDOUT: "the connection timed out",
  EHOSTUNREACH: "the host is unreachable",
  ENETUNREACH: "the network is unreachable",
  CERT_HAS_EXPIRED: "its TLS certificate has expired",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its TLS certificate could not be verified",
  DEPTH_ZERO_SELF_SIGNED_CERT: "its TLS certificate is self-signed",
};

/** A fetch that failed before any response. Reads only the error code: Bun puts the URL in `path`. */
export function networkError(label: string, baseUrl: string, error: unknown): ProviderError {
  const code = (error as { code?: unknown })?.code;
  const reason = (typeof code === "string" && NETWORK_REASONS[code]) || "the request failed";
  return new ProviderError("unreachable", `Could not reach ${label} at ${new URL(baseUrl).host}: ${reason}.`);
}
