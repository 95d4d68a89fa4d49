// The node's user containers: spawn from a high-level spec, report, freeze/restore, remove with their
// volume and network, and find them again after a restart (by label). State lives in Docker, not here.

import { encodeHexLowerCase } from "@oslojs/encoding";
import { hmacSha256 } from "../common/crypto.ts";
import { AgentError } from "./agent_error.ts";
import type {
  ContainerInfo,
  ContainerSpec,
  ContainerStats,
  ContainerStatus,
  LiveLimits,
  RestoreRequest,
} from "./api/contract.ts";
import { ContainerAddresses } from "./container_addresses.ts";
import { type ContainerInspect, type DockerClient, DockerError } from "./docker/client.ts";
import {
  containerConfig,
  containerName,
  type HostSecurity,
  LABELS,
  resourceLimits,
  volumeName,
} from "./isolation.ts";
import { containerCredential, newSalt, SALT_LABEL } from "./provider_gateway/credential.ts";
import type { ProviderGateway } from "./provider_gateway/gateway.ts";
import { waitHealthy } from "./readiness.ts";
import { ContainerNetworks } from "./spawn/container_networks.ts";
import type { NetworkPool } from "./spawn/network_pool.ts";
import type { Sandboxes } from "./spawn/sandboxes.ts";
import { type Span, SpawnSpans } from "./spawn/spans.ts";
import { SpawnClock } from "./spawn_clock.ts";
import type { Template } from "./templates.ts";
import {
  VolumeError,
  type VolumeManager,
  type VolumeOwner,
  volumeKeyBytes,
  volumeOwner,
} from "./volumes/volumes.ts";

/** A removal that found nothing to remove is done. */
function ignoreMissing(error: unknown) {
  if (!(error instanceof DockerError && error.notFound)) throw error;
}

export type ContainerManagerOptions = {
  docker: DockerClient;
  nodeId: string;
  templates: Template[];
  host: HostSecurity;
  gatewaySecret: Uint8Array<ArrayBuffer>;
  volumes: VolumeManager;
  /** Host ids of container uid/gid 0 (userns-remap), to own each volume's data directory. */
  idOffset: { uid: number; gid: number };
  providerGateway: ProviderGateway;
  /** Networks made ahead of time (spawn/network_pool.ts); without it each spawn makes its own. */
  networks?: NetworkPool;
  /** The warm-pool networks' started namespaces (spawn/sandboxes.ts). */
  sandboxes: Sandboxes;
  log: {
    info(msg: string, f?: Record<string, unknown>): void;
    warn(msg: string, f?: Record<string, unknown>): void;
  };
};

export class ContainerManager {
  private readonly progress = new SpawnClock();
  private readonly inflight = new Map<string, Promise<ContainerInfo>>();
  /** Receives each spawn's timing spans (bench/profile_spawn.ts); null in production. */
  onSpawnProfiled: ((spans: Span[]) => void) | null = null;

  private readonly networks: ContainerNetworks;
  private readonly addresses: ContainerAddresses;

  constructor(private readonly opts: ContainerManagerOptions) {
    this.networks = new ContainerNetworks({
      docker: opts.docker,
      nodeId: opts.nodeId,
      sandboxes: opts.sandboxes,
      pool: opts.networks,
    });
    this.addresses = new ContainerAddresses(opts.docker, this.networks);
  }

  /** Resolves once neither warm pool is being refilled (the benches wait so no refill overlaps a timing). */
  async warmPoolIdle(): Promise<void> {
    await Promise.all([this.networks.idle(), this.opts.volumes.poolIdle()]);
  }

  get volumes(): VolumeManager {
    return this.opts.volumes;
  }

  template(name: string): Template {
    const template = this.opts.templates.find((t) => t.name === name);
    if (!template) throw new AgentError(400, "unknown_template", `no template named ${name} on this node`);
    return template;
  }

  /** HMAC(node secret, session id): stable for the container's life, never stored. */
  async gatewayToken(sessionId: string): Promise<string> {
    return encodeHexLowerCase(await hmacSha256(this.opts.gatewaySecret, `gateway|${sessionId}`));
  }

  private async inspect(sessionId: string): Promise<ContainerInspect | null> {
    try {
      return await this.opts.docker.inspectContainer(containerName(sessionId));
    } catch (error) {
      if (error instanceof DockerError && error.notFound) return null;
      throw error;
    }
  }

  private describe(c: {
    id: string;
    labels: Record<string, string>;
    paused: boolean;
    running: boolean;
    created: Date;
  }): ContainerInfo {
    const sessionId = c.labels[LABELS.session] ?? "";
    const status: ContainerStatus =
      this.progress.get(sessionId) ?? (c.paused ? "paused" : c.running ? "ready" : "exited");
    return {
      sessionId,
      dockerId: c.id,
      template: c.labels[LABELS.template] ?? "",
      status,
      ready: status === "ready" || status === "paused",
      paused: c.paused,
      createdAt: c.created.toISOString(),
      ...this.volumeSize(sessionId),
    };
  }

  private info(inspect: ContainerInspect): ContainerInfo {
    return this.describe({
      id: inspect.Id,
      labels: inspect.Config.Labels,
      paused: inspect.State.Paused,
      running: inspect.State.Running,
      created: new Date(inspect.Created),
    });
  }

  /** Idempotent: a second spawn for the same session returns the same container. */
  spawn(spec: ContainerSpec): Promise<ContainerInfo> {
    const running = this.inflight.get(spec.sessionId);
    if (running) return running;
    this.progress.begin(spec.sessionId);
    const spans = new SpawnSpans();
    const job = this.doSpawn(spec, spans)
      .then((info): ContainerInfo => {
        const steps = this.progress.take(spec.sessionId);
        return steps.length ? { ...info, spawnSteps: steps } : info;
      })
      .finally(() => {
        this.onSpawnProfiled?.(spans.spans);
        this.inflight.delete(spec.sessionId);
        this.progress.delete(spec.sessionId);
        this.progress.drop(spec.sessionId);
        // After the spawn, not during it: a network create beside a `docker start` slows the start.
        this.networks.refill();
        void this.opts.volumes.refillPool();
      });
    this.inflight.set(spec.sessionId, job);
    return job;
  }

  private async doSpawn(spec: ContainerSpec, spans: SpawnSpans): Promise<ContainerInfo> {
    const template = this.template(spec.template);
    const { docker } = this.opts;
    // Independent steps run side by side (each Docker call is a round trip the spawn waited on):
    // the image check beside the inspect, then the volume beside the network and gateway setup.
    const [existing, missingImage] = await Promise.all([
      spans.time("inspect existing", () => this.inspect(spec.sessionId)),
      spans
        .time("image inspect", () => this.requireImage(template))
        .then(
          () => null,
          (error: unknown) => error,
        ),
    ]);
    // An upgrade (`replace`) recreates whatever runs from the template's current image.
    const replace = spec.replace === true && existing !== null;
    if ((!existing?.State.Running || replace) && missingImage) throw missingImage;
    // Mounted, unlocked and grown to the plan before anything runs: a thawed or recreated container
    // must find its data, and Docker refuses the bind mount while the volume is not attached.
    const legacy = existing?.State.Running && !this.usesVolume(existing);
    if (legacy && replace) {
      throw new AgentError(
        409,
        "volume_missing",
        "this container keeps its data inside; it cannot be replaced",
      );
    }
    const volume = legacy
      ? Promise.resolve("")
      : spans.time("volume ensure", () => this.ensureSpawnVolume(spec, template, existing, spans));
    // Awaited below on every path; this only keeps an early throw from leaving it unobserved.
    volume.catch(() => {});
    // Spawn means "make it run": a frozen container is thawed, not replaced (its data is in it).
    if (existing && !replace && (existing.State.Paused || existing.State.Running)) {
      await volume;
      if (existing.State.Paused) await docker.unpauseContainer(existing.Id);
    }
    if (existing?.State.Running && !replace) {
      await this.openProviderGateway(existing);
      await this.waitReady(spec.sessionId, existing, template);
      return this.info((await this.inspect(spec.sessionId)) ?? existing);
    }
    if (existing) await docker.removeContainer(existing.Id, { force: true });
    this.progress.set(spec.sessionId, "creating");
    const { network, taken, sandbox } = await this.networks.choose(existing, template.port);
    try {
      return await this.createAndStart(spec, template, spans, volume, network, sandbox);
    } catch (error) {
      if (taken && !(await this.inspect(spec.sessionId))) await this.networks.discard(taken);
      throw error;
    } finally {
      if (taken) this.networks.settled(taken);
    }
  }

  /**
   * The spawn's volume, mounted and unlocked. With a key the server made just now (`fresh`) and no
   * container, a volume of the session already here is a leftover of a kill whose removal did not
   * finish: its key is gone everywhere, so nothing in it can be read; it is replaced, not refused.
   */
  private async ensureSpawnVolume(
    spec: ContainerSpec,
    template: Template,
    existing: ContainerInspect | null,
    spans: SpawnSpans,
  ): Promise<string> {
    const { volumes, log } = this.opts;
    const ensure = () =>
      volumes.ensure(spec.sessionId, {
        sizeMb: spec.limits.diskMb,
        key: volumeKeyBytes(spec.volume),
        owner: this.volumeOwner(template),
        spans,
      });
    try {
      return await ensure();
    } catch (error) {
      const leftover = error instanceof VolumeError && error.code === "volume_key_mismatch";
      if (!leftover || !spec.volume?.fresh || existing) throw error;
      log.warn("a killed session's volume was still on this node: replaced", { session: spec.sessionId });
      await volumes.destroy(spec.sessionId);
      return ensure();
    }
  }

  /**
   * `network`: the one it runs on; null: its session's own network, made (or found) here. `sandbox`:
   * the started namespace on that network it joins (spawn/sandboxes.ts); null: Docker makes its own.
   */
  private async createAndStart(
    spec: ContainerSpec,
    template: Template,
    spans: SpawnSpans,
    volume: Promise<string>,
    network: string | null,
    sandbox: string | null,
  ): Promise<ContainerInfo> {
    const { docker, nodeId, log } = this.opts;
    const salt = newSalt();
    const networkReady = network
      ? Promise.resolve(network)
      : spans.time("network create", () => this.networks.ensureOwn(spec.sessionId, template.name));
    const [dataSource, gatewayToken, [ownNetwork, providerEnv]] = await Promise.all([
      volume,
      this.gatewayToken(spec.sessionId),
      networkReady.then(
        async (name) =>
          [
            name,
            await spans.time("provider gateway bind", () =>
              this.bindProviderGateway(spec.sessionId, name, salt, template),
            ),
          ] as const,
      ),
    ]);
    const config = containerConfig({
      spec,
      template,
      nodeId,
      gatewayToken,
      host: this.opts.host,
      dataSource,
      network: ownNetwork,
      sandbox,
      providerEnv,
      extraLabels: { [SALT_LABEL]: salt },
    });
    const created = await spans.time("container create", () =>
      docker.createContainer(containerName(spec.sessionId), config),
    );
    this.progress.set(spec.sessionId, "starting");
    await spans.time("container start", () => docker.startContainer(created.Id));
    this.progress.set(spec.sessionId, "waiting");
    const inspect = await spans.time("inspect after start", () => docker.inspectContainer(created.Id));
    await spans.time("readiness wait", () => this.waitReady(spec.sessionId, inspect, template));
    this.progress.delete(spec.sessionId);
    log.info("container ready", { session: spec.sessionId, template: template.name });
    // The inspect taken after start already says running; the readiness wait failed fast otherwise.
    return this.info(inspect);
  }

  private async requireImage(template: Template) {
    try {
      await this.opts.docker.imageInspect(template.image);
    } catch (error) {
      if (error instanceof DockerError && error.notFound) {
        throw new AgentError(409, "image_missing", `the image ${template.image} is not on this node`);
      }
      throw error;
    }
  }

  /** The bridge's own address: where the container finds the provider gateway. */
  private async containerIp(sessionId: string): Promise<string | null> {
    const inspect = await this.inspect(sessionId);
    return inspect ? this.addresses.ipOf(inspect) : null;
  }

  /**
   * Opens the gateway listener on the container's bridge and returns the variables the container gets:
   * base URLs, the credential in every key variable, and a default provider among those with a key now
   * (keys added later still work: every key variable carries the credential).
   */
  private async bindProviderGateway(
    sessionId: string,
    network: string,
    salt: string,
    template: Template,
  ): Promise<Record<string, string>> {
    const gateway = this.opts.providerGateway;
    const gatewayIp = await this.addresses.bridgeGateway(network);
    const credential = await containerCredential(this.opts.gatewaySecret, sessionId, salt);
    gateway.open({ sessionId, gatewayIp, credential, peer: () => this.containerIp(sessionId) });
    const env = gateway.env(gatewayIp);
    for (const name of Object.values(template.keyEnv)) env[name] = credential;
    const current = await gateway.keys.get(sessionId).catch(() => null);
    const withKey = Object.keys(current?.keys ?? {});
    if (withKey[0]) env.CLAWFLEET_DEFAULT_PROVIDER = withKey[0];
    return env;
  }

  /** After an agent restart (or for a container found running): its listener again, same credential. */
  async openProviderGateway(inspect: ContainerInspect): Promise<void> {
    const sessionId = inspect.Config.Labels[LABELS.session];
    const salt = inspect.Config.Labels[SALT_LABEL];
    if (!sessionId || !salt) return;
    const gatewayIp = await this.addresses.bridgeGateway(this.networks.of(inspect));
    const credential = await containerCredential(this.opts.gatewaySecret, sessionId, salt);
    this.opts.providerGateway.open({
      sessionId,
      gatewayIp,
      credential,
      peer: () => this.containerIp(sessionId),
    });
  }

  /** Listeners for every container of this node (start-up). */
  async openProviderGateways(): Promise<void> {
    for (const c of await this.list()) {
      const inspect = await this.inspect(c.sessionId);
      if (inspect) await this.openProviderGateway(inspect).catch(() => {});
    }
  }

  /** Waits for the template's health check (readiness.ts); a container that exits fails at once. */
  private async waitReady(sessionId: string, inspect: ContainerInspect, template: Template) {
    const port = await this.addresses.hostPort(inspect, template);
    if (!port) throw new AgentError(502, "no_port", "the container's gateway port was not published");
    const ready = await waitHealthy({
      port,
      path: template.health.path,
      timeoutMs: template.health.timeoutMs,
      between: async () => {
        const state = (await this.inspect(sessionId))?.State;
        if (!state) throw new AgentError(409, "removed", "the container was removed while starting");
        if (!state.Running && !state.Paused && !state.Restarting && state.ExitCode !== 0) {
          throw new AgentError(502, "container_exited", `the container exited with code ${state.ExitCode}`);
        }
      },
    });
    if (!ready) {
      throw new AgentError(
        504,
        "not_ready",
        `the container did not answer ${template.health.path} within ${template.health.timeoutMs / 1000}s`,
      );
    }
  }

  async get(sessionId: string): Promise<ContainerInfo | null> {
    const inspect = await this.inspect(sessionId);
    if (inspect) {
      const imageCurrent = await this.imageCurrent(inspect);
      return { ...this.info(inspect), ...(imageCurrent === undefined ? {} : { imageCurrent }) };
    }
    const inProgress = this.progress.get(sessionId);
    return inProgress
      ? {
          sessionId,
          dockerId: "",
          template: "",
          status: inProgress,
          ready: false,
          paused: false,
          createdAt: new Date().toISOString(),
        }
      : null;
  }

  /** Whether the container runs the image its template's tag names now; undefined if unknown. */
  private async imageCurrent(inspect: ContainerInspect): Promise<boolean | undefined> {
    const name = inspect.Config.Labels[LABELS.template] ?? "";
    const template = this.opts.templates.find((t) => t.name === name);
    if (!template || !inspect.Image) return undefined;
    const tagged = await this.opts.docker.imageInspect(template.image).catch(() => null);
    return tagged ? tagged.Id === inspect.Image : undefined;
  }

  /** This node's containers, from one list call (no inspect per container). */
  async list(): Promise<ContainerInfo[]> {
    const summaries = await this.opts.docker.listContainers([
      `${LABELS.managed}=1`,
      `${LABELS.node}=${this.opts.nodeId}`,
    ]);
    return summaries.map((s) =>
      this.describe({
        id: s.Id,
        labels: s.Labels,
        paused: s.State === "paused",
        running: s.State === "running" || s.State === "paused" || s.State === "restarting",
        created: new Date(s.Created * 1000),
      }),
    );
  }

  private async require(sessionId: string): Promise<ContainerInspect> {
    const inspect = await this.inspect(sessionId);
    if (!inspect) throw new AgentError(404, "not_found", "no such container on this node");
    return inspect;
  }

  /**
   * Whether the container's data is its encrypted volume. A container made before volumes were
   * images (a Docker named volume) keeps running as it is until it is respawned.
   */
  private usesVolume(inspect: ContainerInspect): boolean {
    const sessionId = inspect.Config.Labels[LABELS.session] ?? "";
    return inspect.Mounts.some(
      (m) => m.Type === "bind" && m.Source === this.opts.volumes.dataPath(sessionId),
    );
  }

  private volumeOwner(template: Template): VolumeOwner {
    return volumeOwner(template.user, this.opts.idOffset);
  }

  private volumeSize(sessionId: string): { volumeMb?: number } {
    const mb = sessionId ? this.opts.volumes.sizeMb(sessionId) : null;
    return mb === null ? {} : { volumeMb: mb };
  }

  /** A plan's bigger disk, while the container runs (online where the kernel allows it). */
  async growVolume(sessionId: string, diskMb: number) {
    const inspect = await this.require(sessionId);
    if (!this.usesVolume(inspect))
      throw new AgentError(409, "volume_missing", "this container's data is not in a volume of this agent");
    await this.opts.volumes.grow(sessionId, diskMb);
  }

  /**
   * Pauses the processes, then takes the volume key out of the kernel while nothing runs. A runtime
   * that answers GET /wake is asked first: while it works the freeze is refused (409 busy; the idle
   * freeze tries again later), and its next schedule comes back so the server restores it then.
   */
  async freeze(sessionId: string): Promise<{ wakeAt: number | null }> {
    const inspect = await this.require(sessionId);
    let wakeAt: number | null = null;
    if (inspect.State.Running && !inspect.State.Paused) {
      const wake = await this.askWake(inspect);
      if (wake?.busy)
        throw new AgentError(409, "busy", "the assistant is working; freeze it once it is done");
      wakeAt = wake?.nextWakeAt ?? null;
    }
    if (!inspect.State.Paused) await this.opts.docker.pauseContainer(inspect.Id);
    const { busy } = await this.opts.volumes.lock(sessionId);
    if (busy)
      this.opts.log.info("volume key removed; open files stay readable until restore", {
        session: sessionId,
      });
    return { wakeAt };
  }

  /** The runtime's GET /wake (docs/RUNTIME.md); null when the template's image has none or is silent. */
  private async askWake(
    inspect: ContainerInspect,
  ): Promise<{ busy: boolean; nextWakeAt: number | null } | null> {
    const template = this.template(inspect.Config.Labels[LABELS.template] ?? "");
    const port = await this.addresses.hostPort(inspect, template);
    if (!port) return null;
    const sessionId = inspect.Config.Labels[LABELS.session] ?? "";
    try {
      const response = await fetch(`http://127.0.0.1:${port}/wake`, {
        headers: { authorization: `Bearer ${await this.gatewayToken(sessionId)}` },
        signal: AbortSignal.timeout(2_000),
      });
      if (!response.ok) return null;
      const body = (await response.json()) as { busy?: unknown; next_wake_at?: unknown };
      const next = body.next_wake_at;
      return {
        busy: body.busy === true,
        nextWakeAt: typeof next === "number" && Number.isSafeInteger(next) && next > 0 ? next : null,
      };
    } catch {
      return null;
    }
  }

  /** New plan limits on the live container (paused or running); the disk size waits for a respawn. */
  async updateLimits(sessionId: string, limits: LiveLimits) {
    const inspect = await this.require(sessionId);
    await this.opts.docker.updateContainer(inspect.Id, resourceLimits(limits));
  }

  /** Key back in (re-attaching the volume after a node reboot), then the processes resume. */
  async restore(sessionId: string, request: RestoreRequest = {}) {
    const inspect = await this.require(sessionId);
    const key = volumeKeyBytes(request.volume);
    if (this.usesVolume(inspect) && (key || this.opts.volumes.keyState(sessionId) !== "present")) {
      const template = this.template(inspect.Config.Labels[LABELS.template] ?? "");
      await this.opts.volumes.ensure(sessionId, { sizeMb: null, key, owner: this.volumeOwner(template) });
    }
    if (inspect.State.Paused) await this.opts.docker.unpauseContainer(inspect.Id);
    else if (!inspect.State.Running && this.usesVolume(inspect)) await this.recreateStopped(inspect);
    else if (!inspect.State.Running) await this.opts.docker.startContainer(inspect.Id);
  }

  /**
   * A stopped container (the node rebooted, or Docker gave up restarting it) starts new processes, so
   * it gets a new container: the same image, limits, volume, network and gateway token, and a new
   * provider-gateway credential (a fresh salt), so the old credential stops working. A paused one
   * keeps its processes, and with them its credential (docs/AGENT.md).
   */
  private async recreateStopped(inspect: ContainerInspect) {
    const { docker } = this.opts;
    const sessionId = inspect.Config.Labels[LABELS.session] ?? "";
    const template = this.template(inspect.Config.Labels[LABELS.template] ?? "");
    const salt = newSalt();
    const network = this.networks.of(inspect);
    const [gatewayToken, providerEnv, sandbox] = await Promise.all([
      this.gatewayToken(sessionId),
      this.bindProviderGateway(sessionId, network, salt, template),
      // The namespace it joined, if that still runs; else (a reboot) the container gets its own.
      this.networks.sandboxOf(network, template.port),
    ]);
    const host = inspect.HostConfig;
    const config = containerConfig({
      spec: {
        sessionId,
        template: template.name,
        limits: {
          cpuMillis: Math.round(host.NanoCpus / 1_000_000),
          memoryMb: Math.round(host.Memory / (1024 * 1024)),
          pidsLimit: host.PidsLimit ?? 0,
          diskMb: 0,
        },
      },
      template,
      nodeId: this.opts.nodeId,
      gatewayToken,
      host: this.opts.host,
      dataSource: this.opts.volumes.dataPath(sessionId),
      network,
      sandbox,
      providerEnv,
      extraLabels: { [SALT_LABEL]: salt },
    });
    // The image it ran, not whatever the template's tag names now: that is an upgrade's job.
    config.Image = inspect.Image;
    await docker.removeContainer(inspect.Id, { force: true });
    const created = await docker.createContainer(containerName(sessionId), config);
    await docker.startContainer(created.Id);
    await this.waitReady(sessionId, await docker.inspectContainer(created.Id), template);
    this.opts.log.info("stopped container recreated with a new gateway credential", { session: sessionId });
  }

  /**
   * Container, volume and network: everything of the session goes; idempotent. The volume key leaves
   * the kernel first (crypto-shredding), then the container, then the image itself.
   */
  async remove(sessionId: string) {
    const { docker, volumes } = this.opts;
    this.opts.providerGateway.close(sessionId);
    await volumes.shredKey(sessionId);
    // Read before the container goes: a warm-pool network is found only through its label.
    const existing = await this.inspect(sessionId);
    await docker
      .removeContainer(containerName(sessionId), { force: true, volumes: true })
      .catch(ignoreMissing);
    await volumes.destroy(sessionId);
    // Volumes made before encrypted images (a Docker named volume) go too.
    await docker.removeVolume(volumeName(sessionId)).catch(ignoreMissing);
    await this.networks.remove(sessionId, existing);
  }

  /**
   * Removes the container and its network but keeps the volume, locked and detached, for the session's
   * next spawn (which brings the key again): how a failed session is cleared before it is spawned anew.
   */
  async drop(sessionId: string) {
    this.opts.providerGateway.close(sessionId);
    const existing = await this.inspect(sessionId);
    await this.opts.volumes.lock(sessionId);
    await this.opts.docker
      .removeContainer(containerName(sessionId), { force: true, volumes: true })
      .catch(ignoreMissing);
    await this.opts.volumes.detach(sessionId);
    await this.networks.remove(sessionId, existing);
  }

  /** Sessions whose volume is on this node without a container: what a kill that failed half-way leaves. */
  async leftoverVolumes(): Promise<string[]> {
    const containers = new Set((await this.list()).map((c) => c.sessionId));
    return this.opts.volumes.sessionIds().filter((id) => !containers.has(id));
  }

  /**
   * Removes a session's volume that no container uses. Refused while a container of the session
   * exists or a spawn has unlocked the volume (the control plane's view may be a moment old).
   */
  async removeLeftoverVolume(sessionId: string): Promise<void> {
    if (await this.inspect(sessionId))
      throw new AgentError(409, "busy", "the session has a container on this node: remove it instead");
    if (!(await this.opts.volumes.destroyUnused(sessionId)))
      throw new AgentError(409, "busy", "the volume is in use");
  }

  async stats(sessionId: string): Promise<ContainerStats> {
    const inspect = await this.require(sessionId);
    const s = await this.opts.docker.containerStats(inspect.Id);
    const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
    const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
    const cpus = s.cpu_stats.online_cpus ?? 1;
    const cache = s.memory_stats.stats?.cache ?? s.memory_stats.stats?.inactive_file ?? 0;
    return {
      cpuPercent: systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0,
      memoryBytes: Math.max(0, (s.memory_stats.usage ?? 0) - cache),
      memoryLimitBytes: s.memory_stats.limit ?? 0,
      pids: s.pids_stats?.current ?? 0,
    };
  }

  /** Where the gateway of a running container listens, for the WebSocket proxy. */
  async gatewayTarget(sessionId: string): Promise<{ url: string; token: string }> {
    const { inspect, template } = await this.unpaused(sessionId);
    return {
      url: `ws://${await this.addresses.address(inspect, template)}${template.gatewayPath}`,
      token: await this.gatewayToken(sessionId),
    };
  }

  /** The base URL of the container's webhook path on its gateway port. */
  async hookTarget(sessionId: string): Promise<string> {
    const { inspect, template } = await this.unpaused(sessionId);
    if (!template.hookPath)
      throw new AgentError(404, "no_webhook", `the ${template.name} template takes no webhooks`);
    return `http://${await this.addresses.address(inspect, template)}${template.hookPath.replace(/\/$/, "")}`;
  }

  /** The base URL of the container's app port. */
  async appTarget(sessionId: string): Promise<string> {
    const { inspect, template } = await this.unpaused(sessionId);
    if (!template.appPort) throw new AgentError(404, "no_app", `the ${template.name} template has no app`);
    return `http://${await this.addresses.address(inspect, template)}`;
  }

  async terminalTarget(sessionId: string): Promise<{ containerId: string; shell: string[] }> {
    const { inspect, template } = await this.unpaused(sessionId);
    return { containerId: inspect.Id, shell: template.shell };
  }

  /** The session's container and its template; a frozen one is refused (409 paused). */
  private async unpaused(sessionId: string): Promise<{ inspect: ContainerInspect; template: Template }> {
    const inspect = await this.require(sessionId);
    if (inspect.State.Paused) throw new AgentError(409, "paused", "the container is frozen");
    return { inspect, template: this.template(inspect.Config.Labels[LABELS.template] ?? "") };
  }

  /**
   * Networks nothing claims any more (spawn/container_networks.ts). Volumes are not swept here: a lost
   * container's data stays so a respawn finds it again; the control plane removes a volume only once
   * its key is gone (leftoverVolumes, removeLeftoverVolume).
   */
  sweepNetworks(): Promise<void> {
    return this.networks.sweep((sessionId) => this.inflight.has(sessionId));
  }
}
