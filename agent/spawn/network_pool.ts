// A small warm pool of per-container networks. Creating a bridge network is the one slow step a
// spawn adds over a bare `docker run` (dockerd sets up the bridge and its iptables rules: ~90 ms,
// BENCHMARKS.md "Issue 20, spawn rows"), and it depends on nothing in the request, so it is done
// ahead of time. Rules that keep the pool safe between tenants:
//   - a pooled network is made fresh, handed out once (taken out of the list synchronously) and never
//     returned: the session's kill removes it like its own network, so no network ever carries two
//     tenants' containers, one after the other or at once;
//   - it is the same bridge as a session's own (agent/isolation.ts: ICC off, a cf- bridge the
//     firewall matches), labelled clawfleet.pool instead of a session; the container names it in its
//     clawfleet.network label, which is how kill and the sweeps find it;
//   - bounded: at most `size` networks wait; refilled one at a time after a spawn, not during one (a
//     network create beside a `docker start` slows the start); removed on agent shutdown, and by the
//     network sweep when no container names them and this pool does not hold them (a crash between
//     take and create, a previous agent's pool). A taken network stays held until its spawn is over,
//     by which time its container runs on it (Docker refuses to remove a network in use).
//   - each network waits with its sandbox started (sandboxes.ts), which goes wherever the network goes.
import type { DockerClient } from "../docker/client.ts";
import { poolNetworkConfig, poolNetworkId, poolNetworkName } from "../isolation.ts";
import type { Sandboxes } from "./sandboxes.ts";

/** A network taken from the pool, with its started sandbox (null: the container makes its own namespace). */
export type PooledNetwork = { network: string; sandbox: string | null };

export class NetworkPool {
  private readonly ready: PooledNetwork[] = [];
  /** Taken but not yet named by a container's label (the spawn is between take and create). */
  private readonly claimed = new Set<string>();
  /** Being made right now (Docker has it before this pool lists it as waiting). */
  private readonly creating = new Set<string>();
  private filling: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly opts: {
      docker: DockerClient;
      nodeId: string;
      size: number;
      sandboxes: Sandboxes;
      log: { warn(msg: string, f?: Record<string, unknown>): void };
    },
  ) {}

  /** A never-used network for one container, or null when none waits (the caller makes its own). */
  take(): PooledNetwork | null {
    const taken = this.ready.shift() ?? null;
    if (taken) this.claimed.add(taken.network);
    return taken;
  }

  /** The spawn that took `name` is over: its container carries the label now, or it was released. */
  settled(name: string) {
    this.claimed.delete(name);
  }

  /** Whether the sweep must leave this pool network alone (waiting, or taken by a spawn in flight). */
  holds(name: string): boolean {
    return this.ready.some((r) => r.network === name) || this.claimed.has(name) || this.creating.has(name);
  }

  get waiting(): number {
    return this.ready.length;
  }

  /** Tops the pool up in the background, one network at a time; a failure waits for the next call. */
  refill(): Promise<void> {
    if (this.stopped || this.opts.size === 0) return Promise.resolve();
    this.filling ??= (async () => {
      while (!this.stopped && this.ready.length < this.opts.size) {
        const id = poolNetworkId();
        const name = poolNetworkName(id);
        this.creating.add(name);
        try {
          await this.opts.docker.createNetwork(poolNetworkConfig(id, this.opts.nodeId));
          const sandbox = await this.opts.sandboxes.start(name);
          if (this.stopped) {
            await this.discard(name);
            return;
          }
          this.ready.push({ network: name, sandbox });
        } finally {
          this.creating.delete(name);
        }
      }
    })()
      .catch((error: unknown) => this.opts.log.warn("warm network pool not refilled", { error }))
      .finally(() => {
        this.filling = null;
      });
    return this.filling;
  }

  /** Resolves once no refill runs (benches wait for it so a refill never overlaps what they time). */
  async idle(): Promise<void> {
    await this.filling;
  }

  /** Shutdown: no more refills, and every network still waiting is removed. */
  async drain(): Promise<void> {
    this.stopped = true;
    await this.filling;
    for (const { network } of this.ready.splice(0)) await this.discard(network);
  }

  private async discard(network: string) {
    await this.opts.sandboxes.remove(network).catch(() => {});
    await this.opts.docker.removeNetwork(network).catch(() => {});
  }
}
