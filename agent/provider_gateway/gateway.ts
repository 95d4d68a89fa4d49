// The node's provider gateway: one small HTTP listener per container network, bound to that bridge's
// gateway address (the one port the firewall opens to containers, on their own bridge only). A
// request is served only if it comes from that network's container and carries that container's
// credential: a credential replayed from anywhere else, even another container of this node, is
// refused. Then forward.ts swaps it for the user's key and streams the reply back.
import type { Server } from "bun";
import { constantTimeEqual } from "../../common/crypto.ts";
import type { Logger } from "../../common/log.ts";
import { isProvider, type Provider } from "../../common/providers.ts";
import { type ForwardDeps, forward, gatewayError } from "./forward.ts";
import { KeyCache } from "./key_cache.ts";
import { baseUrlEnv, presentedCredential } from "./providers.ts";
import type { KeySource } from "./server_channel.ts";
import { UsageReporter } from "./usage_reporter.ts";

export const DEFAULT_GATEWAY_PORT = 7480;

export type GatewayBinding = {
  sessionId: string;
  /** The bridge's own address, where the listener is bound. */
  gatewayIp: string;
  credential: string;
  /** Looks up the container's address on that bridge (known once it has started). */
  peer: () => Promise<string | null>;
};

type Listener = { binding: GatewayBinding; server: Server<undefined>; peerIp: string | null };

export type ProviderGatewayOptions = {
  port: number;
  source: KeySource;
  upstreams: Record<Provider, string>;
  ca: string | null;
  log: Logger;
};

export class ProviderGateway {
  private readonly listeners = new Map<string, Listener>();
  readonly keys: KeyCache;
  readonly usage: UsageReporter;
  private readonly deps: ForwardDeps;

  constructor(private readonly opts: ProviderGatewayOptions) {
    this.keys = new KeyCache(opts.source);
    this.usage = new UsageReporter(opts.source, opts.log);
    this.deps = {
      keys: this.keys,
      upstreams: opts.upstreams,
      ca: opts.ca,
      onUsage: (...args) => this.usage.add(...args),
    };
  }

  get port() {
    return this.opts.port;
  }

  /** The base-URL variables a container on this bridge gets. */
  env(gatewayIp: string): Record<string, string> {
    return baseUrlEnv(`http://${gatewayIp}:${this.opts.port}`);
  }

  /** Starts (or re-points) the listener of one container's network. Idempotent. */
  open(binding: GatewayBinding) {
    const existing = this.listeners.get(binding.sessionId);
    if (existing && existing.binding.gatewayIp === binding.gatewayIp) {
      existing.binding = binding;
      existing.peerIp = null;
      return;
    }
    if (existing) this.close(binding.sessionId);
    const listener: Listener = { binding, peerIp: null, server: null as never };
    listener.server = Bun.serve({
      hostname: binding.gatewayIp,
      port: this.opts.port,
      // A reply may pause longer than Bun's default idle timeout between streamed tokens.
      idleTimeout: 0,
      maxRequestBodySize: 32 * 1024 * 1024,
      fetch: (request, server) => this.handle(listener, request, server),
    });
    this.listeners.set(binding.sessionId, listener);
  }

  close(sessionId: string) {
    const listener = this.listeners.get(sessionId);
    if (!listener) return;
    this.listeners.delete(sessionId);
    this.keys.forget(sessionId);
    void listener.server.stop(true);
  }

  has(sessionId: string) {
    return this.listeners.has(sessionId);
  }

  private async handle(listener: Listener, request: Request, server: Server<undefined>): Promise<Response> {
    const { binding } = listener;
    const started = performance.now();
    const from = server.requestIP(request)?.address ?? "";
    listener.peerIp ??= await binding.peer().catch(() => null);
    if (!listener.peerIp || from.replace(/^::ffff:/, "") !== listener.peerIp) {
      this.opts.log.warn("provider gateway: request from outside the container's network refused", {
        session: binding.sessionId,
      });
      return gatewayError(403, "wrong_network", "This gateway serves only its own container.");
    }
    const url = new URL(request.url);
    const [, provider = "", ...rest] = url.pathname.split("/");
    if (!isProvider(provider))
      return gatewayError(404, "unknown_provider", "Use /anthropic, /openai, /google or /openrouter.");
    const presented = presentedCredential(request.headers, url);
    if (!constantTimeEqual(presented, binding.credential)) {
      this.opts.log.warn("provider gateway: wrong credential refused", {
        session: binding.sessionId,
        provider,
      });
      return gatewayError(401, "invalid_credential", "This credential does not belong to this container.");
    }
    const usedBearer = /^Bearer\s/i.test(request.headers.get("authorization") ?? "");
    const response = await forward(
      this.deps,
      binding.sessionId,
      provider,
      request,
      url,
      `/${rest.join("/")}`,
      usedBearer,
    );
    this.opts.log.debug("provider gateway request", {
      session: binding.sessionId,
      provider,
      status: response.status,
      ms: Math.round(performance.now() - started),
    });
    return response;
  }

  async stop() {
    for (const id of [...this.listeners.keys()]) this.close(id);
    await this.usage.stop();
  }
}
