// Where a container is reached: its address on its own network, its port published on 127.0.0.1, and
// its network's gateway on the node. A container that joined a sandbox (spawn/sandboxes.ts) shares the
// sandbox's namespace, so the sandbox's inspect is the one that shows them.

import { AgentError } from "./agent_error.ts";
import type { ContainerInspect, DockerClient } from "./docker/client.ts";
import type { ContainerNetworks } from "./spawn/container_networks.ts";
import type { Template } from "./templates.ts";

export class ContainerAddresses {
  constructor(
    private readonly docker: DockerClient,
    private readonly networks: ContainerNetworks,
  ) {}

  /** The node's address on the container's network (where its provider gateway listens). */
  async bridgeGateway(network: string): Promise<string> {
    const ip = await this.networks.gatewayIp(network);
    if (!ip) throw new AgentError(502, "no_bridge_address", "the container network has no IPv4 gateway");
    return ip;
  }

  /** The container's address on its own network (its sandbox's, when it joined one). */
  async ipOf(inspect: ContainerInspect): Promise<string | null> {
    const side = await this.networkSide(inspect);
    return side.NetworkSettings.Networks[this.networks.of(inspect)]?.IPAddress || null;
  }

  /**
   * The container whose inspect shows the namespace's addresses and published ports: the sandbox a
   * container joined (`container:<id>`), else the container itself.
   */
  async networkSide(inspect: ContainerInspect): Promise<ContainerInspect> {
    const mode = inspect.HostConfig.NetworkMode ?? "";
    if (!mode.startsWith("container:")) return inspect;
    return (await this.docker.inspectContainer(mode.slice("container:".length)).catch(() => null)) ?? inspect;
  }

  /**
   * Where the relays reach the container's port: its address on its own bridge, which the node reaches
   * directly (the firewall lets replies to the node's own connections back in). The 127.0.0.1
   * publishing adds Docker's userland proxy, a process hop on every frame (docs/BENCHMARKS.md).
   */
  async address(inspect: ContainerInspect, template: Template): Promise<string> {
    const ip = await this.ipOf(inspect);
    if (!ip) throw new AgentError(409, "no_port", "the container has no address on its network");
    return `${ip}:${template.port}`;
  }

  /** The template's port as published on 127.0.0.1 (the readiness wait and the wake check use it). */
  async hostPort(inspect: ContainerInspect, template: Template): Promise<number | null> {
    const side = await this.networkSide(inspect);
    const binding = side.NetworkSettings.Ports[`${template.port}/tcp`]?.find((b) => b.HostIp === "127.0.0.1");
    return binding ? Number(binding.HostPort) : null;
  }
}
