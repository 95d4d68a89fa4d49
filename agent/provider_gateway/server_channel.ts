// The agent's signed calls to the control plane: the user's current keys for a session's container,
// and token usage. Same HMAC scheme as the server's calls to the agent (contract.ts): v2 with the
// node's own secret, bound to its id, when it has one (the server then answers for that node's
// containers only), else v1 with a cluster secret. The server URL must be
// https (normal certificate checks; CLAWFLEET_SERVER_CA adds a private CA) except on loopback, where
// the all-in-one server and the tests talk plain HTTP to themselves.
import {
  type ClusterKey,
  type ProviderKeysResponse,
  SERVER_CHANNEL,
  signRequest,
  type TokenUsageReport,
} from "../api/contract.ts";

export class ServerChannelError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type KeySource = {
  fetchKeys(sessionId: string): Promise<ProviderKeysResponse>;
  reportUsage(reports: TokenUsageReport[]): Promise<void>;
};

/** Where the server is; the all-in-one server hands its agent an in-process `fetch` instead of a socket. */
export type ServerLink = { url: string | null; fetch: typeof fetch };

export class ServerChannel implements KeySource {
  constructor(
    private readonly opts: {
      /** Read at each call: the all-in-one server connects its agent only once it is built. */
      link: () => ServerLink;
      keys: ClusterKey[];
      /** The node's own secret and id: signs v2 instead of v1 with `keys`. */
      node?: { nodeId: string; key: ClusterKey } | null;
      ca: string | null;
      timeoutMs?: number;
    },
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const { url: base, fetch: send } = this.opts.link();
    const node = this.opts.node ?? null;
    const key = node?.key ?? this.opts.keys[0];
    if (!base || !key) throw new ServerChannelError(503, "CLAWFLEET_SERVER_URL is not configured");
    const payload = body === undefined ? "" : JSON.stringify(body);
    const headers = await signRequest(key, method, path, payload, Date.now(), node?.nodeId ?? null);
    if (payload) headers["content-type"] = "application/json";
    try {
      return await send(`${base}${path}`, {
        method,
        headers,
        body: payload || undefined,
        redirect: "error",
        // Generous: a cold key fetch waits on the server's database and decrypt, and a loaded server
        // answering late is better than a container's request failing with 503.
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
        ...(this.opts.ca ? { tls: { ca: this.opts.ca } } : {}),
      } as RequestInit);
    } catch (error) {
      throw new ServerChannelError(503, `the server did not answer: ${(error as Error).message}`);
    }
  }

  async fetchKeys(sessionId: string): Promise<ProviderKeysResponse> {
    const response = await this.call("GET", SERVER_CHANNEL.keys(sessionId));
    if (!response.ok) {
      await response.body?.cancel();
      throw new ServerChannelError(response.status, `the server answered ${response.status}`);
    }
    return (await response.json()) as ProviderKeysResponse;
  }

  async reportUsage(reports: TokenUsageReport[]): Promise<void> {
    const response = await this.call("POST", SERVER_CHANNEL.usage, { reports });
    await response.body?.cancel();
    if (!response.ok) throw new ServerChannelError(response.status, `the server answered ${response.status}`);
  }
}
