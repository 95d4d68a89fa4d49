// Which network a user container runs on, and that network's life: its session's own bridge
// (`clawfleet-net-<session>`, made at spawn) or a warm-pool bridge taken for it alone (network_pool.ts,
// named by the container's clawfleet.network label); removed with the container at kill, and swept
// when nothing claims it any more. A warm-pool network comes with its sandbox (sandboxes.ts), whose
// namespace the container joins when it listens on the sandbox's published port.
import { type ContainerInspect, type DockerClient, DockerError } from "../docker/client.ts";
import { isPoolNetwork, LABELS, networkConfig, networkName } from "../isolation.ts";
import type { NetworkPool } from "./network_pool.ts";
import type { Sandboxes } from "./sandboxes.ts";

/** Where a (re)created container goes; `taken`: a pool network to hand back with settled()/discard(). */
export type NetworkChoice = { network: string | null; taken: string | null; sandbox: string | null };

export class ContainerNetworks {
  constructor(
    private readonly opts: {
      docker: DockerClient;
      nodeId: string;
      sandboxes: Sandboxes;
      /** Without it, each spawn makes its session's own network. */
      pool?: NetworkPool;
    },
  ) {}

  /** The network a container runs on: its label (a warm-pool one), else its session's own. */
  of(inspect: ContainerInspect): string {
    const labels = inspect.Config.Labels;
    return labels[LABELS.network] ?? networkName(labels[LABELS.session] ?? "");
  }

  /**
   * For a container about to be (re)created listening on `port`: the network it keeps (a recreated
   * container stays on the same tenant's network), else a warm one, else null: the session's own
   * network is made by ensureOwn(). With the network's sandbox when it runs and publishes `port`; a
   * sandbox of no use to this container is removed (the container publishes its port itself).
   */
  async choose(existing: ContainerInspect | null, port: number): Promise<NetworkChoice> {
    const previous = existing ? this.of(existing) : null;
    if (previous && !isPoolNetwork(previous)) return { network: null, taken: null, sandbox: null };
    if (previous && (await this.exists(previous)))
      return { network: previous, taken: null, sandbox: await this.sandboxOf(previous, port) };
    const taken = this.opts.pool?.take() ?? null;
    if (!taken) return { network: null, taken: null, sandbox: null };
    const sandbox = await this.usable(taken.network, taken.sandbox, port);
    return { network: taken.network, taken: taken.network, sandbox };
  }

  /** The running sandbox of a warm-pool network that a container on `port` can join, or null. */
  async sandboxOf(network: string, port: number): Promise<string | null> {
    if (!isPoolNetwork(network)) return null;
    return this.usable(network, await this.opts.sandboxes.running(network), port);
  }

  private async usable(network: string, sandbox: string | null, port: number): Promise<string | null> {
    if (!sandbox || this.opts.sandboxes.port === port) return sandbox;
    await this.opts.sandboxes.remove(network);
    return null;
  }

  /** The spawn that took `name` is over (its container names it now, or it was discarded). */
  settled(name: string) {
    this.opts.pool?.settled(name);
  }

  /** A taken network no container came to name: removed now rather than left for the sweep. */
  async discard(name: string) {
    await this.opts.sandboxes.remove(name).catch(() => {});
    await this.opts.docker.removeNetwork(name).catch(() => {});
  }

  /** The session's own network; idempotent (a respawn after a lost container finds it again). */
  async ensureOwn(sessionId: string, template: string): Promise<string> {
    try {
      await this.opts.docker.createNetwork(networkConfig(sessionId, this.opts.nodeId, template));
    } catch (error) {
      // CheckDuplicate: a network of that name exists already (a respawn).
      if (!(error instanceof DockerError && error.conflict)) throw error;
    }
    return networkName(sessionId);
  }

  /** The bridge's own IPv4 address (where the container finds the provider gateway), or null. */
  async gatewayIp(name: string): Promise<string | null> {
    const network = await this.opts.docker.inspectNetwork(name);
    return network.IPAM.Config.find((c) => /^\d+\.\d+\.\d+\.\d+$/.test(c.Gateway ?? ""))?.Gateway ?? null;
  }

  /** Kill: the container's warm-pool network (read from it before it went) and the session's own. */
  async remove(sessionId: string, container: ContainerInspect | null) {
    const ignoreMissing = (error: unknown) => {
      if (!(error instanceof DockerError && error.notFound)) throw error;
    };
    const network = container ? this.of(container) : null;
    if (network && isPoolNetwork(network)) {
      await this.opts.sandboxes.remove(network);
      await this.opts.docker.removeNetwork(network).catch(ignoreMissing);
    }
    await this.opts.docker.removeNetwork(networkName(sessionId)).catch(ignoreMissing);
  }

  /**
   * Networks of sessions whose container is gone (a crash mid-kill), and warm-pool networks that
   * neither wait in the pool nor carry a container (a crash between take and create, or a previous
   * agent's pool). `spawning`: sessions whose spawn is under way here (their container may not exist
   * yet). A pool network taken by a spawn stays held until the spawn is over, when its container runs
   * on it (Docker refuses to remove a network in use).
   */
  async sweep(spawning: (sessionId: string) => boolean): Promise<void> {
    const { docker, nodeId } = this.opts;
    const node = [`${LABELS.managed}=1`, `${LABELS.node}=${nodeId}`];
    const containers = await docker.listContainers(node);
    const live = new Set(containers.map((c) => c.Labels[LABELS.session] ?? ""));
    const named = new Set(containers.map((c) => c.Labels[LABELS.network] ?? ""));
    for (const network of await docker.listNetworks(node)) {
      const session = network.Labels[LABELS.session];
      const orphan =
        network.Labels[LABELS.pool] === "1"
          ? !named.has(network.Name) && !this.opts.pool?.holds(network.Name)
          : session !== undefined && !live.has(session) && !spawning(session);
      if (!orphan) continue;
      if (network.Labels[LABELS.pool] === "1") await this.opts.sandboxes.remove(network.Name).catch(() => {});
      await docker.removeNetwork(network.Id).catch(() => {});
    }
  }

  refill(): void {
    void this.opts.pool?.refill();
  }

  async idle(): Promise<void> {
    await this.opts.pool?.idle();
  }

  private exists(name: string): Promise<boolean> {
    return this.opts.docker.inspectNetwork(name).then(
      () => true,
      () => false,
    );
  }
}
