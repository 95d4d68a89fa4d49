import { mkdirSync } from "node:fs";
import { loadAgentConfig } from "../agent/config.ts";
import { DockerClient } from "../agent/docker/client.ts";
import { containerConfig, poolNetworkConfig, poolNetworkId, poolNetworkName } from "../agent/isolation.ts";

const docker = new DockerClient("/var/run/docker.sock");
const cfg = loadAgentConfig(
  { CLAWFLEET_CLUSTER_SECRETS: `t:${"s".repeat(40)}`, CLAWFLEET_AGENT_DATA_DIR: "/tmp/cf-exp-agent" },
  [],
);
const template = cfg.templates.find((t) => t.name === "clawfleet-runtime")!;
mkdirSync("/tmp/cf-exp-data", { recursive: true });
Bun.spawnSync(["chown", "101000:101000", "/tmp/cf-exp-data"]);
const spec = {
  sessionId: "x",
  template: template.name,
  limits: { cpuMillis: 500, memoryMb: 256, pidsLimit: 128, diskMb: 512 },
};
const full = (net: string) =>
  containerConfig({
    spec,
    template,
    nodeId: "exp",
    gatewayToken: "t",
    host: { apparmor: false },
    dataSource: "/tmp/cf-exp-data",
    network: net,
    providerEnv: {},
    extraLabels: {},
  }) as any;
const variants: Record<string, (net: string) => any> = {
  full: (n) => full(n),
  "full, default bridge": (n) => {
    const c = full(n);
    c.HostConfig.NetworkMode = "bridge";
    return c;
  },
  "full, default seccomp": (n) => {
    const c = full(n);
    c.HostConfig.SecurityOpt = ["no-new-privileges:true"];
    return c;
  },
  "full, no bind": (n) => {
    const c = full(n);
    c.HostConfig.Mounts = [];
    return c;
  },
  "full, no cpu/ulimits": (n) => {
    const c = full(n);
    delete c.HostConfig.NanoCpus;
    c.HostConfig.Ulimits = [];
    return c;
  },
};
const times: Record<string, number[]> = {};
for (let round = 0; round < 5; round++) {
  for (const [name, make] of Object.entries(variants)) {
    const id = poolNetworkId();
    await docker.createNetwork(poolNetworkConfig(id, "exp"));
    const net = poolNetworkName(id);
    const c = await docker.createContainer(`exp-${id}`, make(net));
    const t = performance.now();
    await docker.startContainer(c.Id);
    (times[name] ??= []).push(performance.now() - t);
    await docker.removeContainer(c.Id, { force: true });
    await docker.removeNetwork(net);
  }
}
for (const [k, v] of Object.entries(times))
  console.log(
    k.padEnd(25),
    v.map((x) => x.toFixed(0)).join(" "),
    "median",
    [...v].sort((a, b) => a - b)[2]!.toFixed(0),
  );
