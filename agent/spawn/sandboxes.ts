// Started network namespaces for warm-pool networks. Most of a `docker start` on a bridge network is
// Docker making the container's network namespace (veth pair, addresses, port publishing, its iptables
// rules): measured here, a start on a fresh user-defined bridge took ~317 ms, one joining a running
// container's namespace (`container:<id>`) ~108 ms (docs/BENCHMARKS.md, "Sandboxes"). So each pooled
// network gets a sandbox: a sleeping container that holds the namespace, with the default template's
// port already published on 127.0.0.1, and the spawn's container joins it (the Kubernetes pod
// sandbox). The sandbox is made before any tenant is known, runs no tenant code, and goes with its
// network: handed out once, removed at kill, swept with its network.
//
// A sandbox that is not running any more (a node reboot) is removed, and the container is recreated
// on the network itself: a sandbox only ever speeds a spawn up.
import { type DockerClient, DockerError } from "../docker/client.ts";
import { type HostSecurity, sandboxConfig, sandboxName } from "../isolation.ts";
import { BUILTIN_TEMPLATES, type Template } from "../templates.ts";

/** What the sandboxes are made from: the default template's image, user and port. */
export type SandboxSpec = { image: string; user: string; port: number; host: HostSecurity };

/** Sandboxes serve the built-in runtime template (most spawns), or the node's first template. */
export function sandboxSpec(templates: Template[], host: HostSecurity): SandboxSpec | null {
  const template = templates.find((t) => t.name === BUILTIN_TEMPLATES[0]?.name) ?? templates[0];
  return template ? { image: template.image, user: template.user, port: template.port, host } : null;
}

export class Sandboxes {
  constructor(
    private readonly opts: {
      docker: DockerClient;
      nodeId: string;
      spec: SandboxSpec | null;
      log: { warn(msg: string, f?: Record<string, unknown>): void };
    },
  ) {}

  /** The port a sandbox publishes: only a template listening on it can join one. */
  get port(): number | null {
    return this.opts.spec?.port ?? null;
  }

  /** Makes and starts `network`'s sandbox; null (and nothing left) when it cannot be had. */
  async start(network: string): Promise<string | null> {
    const { docker, nodeId, spec } = this.opts;
    if (!spec) return null;
    try {
      const image = await docker.imageInspect(spec.image);
      const imageVolumes = Object.keys(image.Config.Volumes ?? {});
      const config = sandboxConfig({ network, nodeId, ...spec, imageVolumes });
      const created = await docker.createContainer(sandboxName(network), config);
      await docker.startContainer(created.Id);
      return created.Id;
    } catch (error) {
      this.opts.log.warn("network sandbox not started; spawns on this network make their own", { error });
      await this.remove(network);
      return null;
    }
  }

  /** The id of `network`'s sandbox if it runs; one that stopped is removed (its namespace is gone). */
  async running(network: string): Promise<string | null> {
    if (!this.opts.spec) return null;
    const inspect = await this.opts.docker.inspectContainer(sandboxName(network)).catch(() => null);
    if (!inspect) return null;
    if (inspect.State.Running) return inspect.Id;
    await this.remove(network);
    return null;
  }

  async remove(network: string): Promise<void> {
    await this.opts.docker.removeContainer(sandboxName(network), { force: true }).catch((error: unknown) => {
      if (!(error instanceof DockerError && error.notFound)) throw error;
    });
  }
}
