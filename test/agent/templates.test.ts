import { expect, test } from "bun:test";
import { containerConfig } from "../../agent/isolation.ts";
import { baseUrlEnv } from "../../agent/provider_gateway/providers.ts";
import { BUILTIN_TEMPLATES, loadTemplates, TemplateError } from "../../agent/templates.ts";

const spec = {
  sessionId: "0b6f2f8e-1f0e-4c7b-9f59-1a2b3c4d5e6f",
  template: "openclaw",
  limits: { cpuMillis: 1000, memoryMb: 1024, pidsLimit: 256, diskMb: 1024 },
};
const credential = "cfgw_0123456789abcdef";
const providerEnv = (keyEnv: Record<string, string>) => ({
  ...baseUrlEnv("http://10.224.0.1:7480"),
  ...Object.fromEntries(Object.values(keyEnv).map((name) => [name, credential])),
});

test("the openclaw preset: port 18789, --bind lan, a per-container token, heap below the memory limit, gateway variables", () => {
  const openclaw = BUILTIN_TEMPLATES.find((t) => t.name === "openclaw");
  if (!openclaw) throw new Error("no openclaw preset");
  const config = containerConfig({
    spec,
    template: openclaw,
    nodeId: "n",
    gatewayToken: "tok123",
    host: { apparmor: false },
    network: "clawfleet-net-s1",
    dataSource: "/agent-data/volumes/mnt/s/data",
    providerEnv: providerEnv(openclaw.keyEnv),
    extraLabels: {},
  });
  expect(Object.keys(config.ExposedPorts)).toEqual(["18789/tcp"]);
  expect(config.Cmd?.join(" ")).toContain("--bind lan --port 18789");
  expect(config.Env).toContain("OPENCLAW_GATEWAY_TOKEN=tok123");
  const heap = Number(
    config.Env.find((e) => e.startsWith("NODE_OPTIONS="))?.match(/max-old-space-size=(\d+)/)?.[1],
  );
  expect(heap).toBeGreaterThan(0);
  expect(heap).toBeLessThan(1024);
  // Key variables hold the per-container credential; base URLs point at the node's gateway.
  for (const name of [
    `ANTHROPIC_API_KEY=${credential}`,
    `OPENAI_API_KEY=${credential}`,
    `GEMINI_API_KEY=${credential}`,
    `OPENROUTER_API_KEY=${credential}`,
    "ANTHROPIC_BASE_URL=http://10.224.0.1:7480/anthropic",
    "OPENAI_BASE_URL=http://10.224.0.1:7480/openai/v1",
    "OPENROUTER_BASE_URL=http://10.224.0.1:7480/openrouter/api/v1",
    "GOOGLE_GEMINI_BASE_URL=http://10.224.0.1:7480/google",
  ]) {
    expect(config.Env).toContain(name);
  }
  expect(config.Env.join("\n")).not.toMatch(/=(sk-|AIza)/);
  expect(config.HostConfig.PortBindings["18789/tcp"]).toEqual([{ HostIp: "127.0.0.1", HostPort: "" }]);
});

test("AppArmor is applied where the host has it", () => {
  const runtime = BUILTIN_TEMPLATES[0];
  if (!runtime) throw new Error("no runtime template");
  const withAppArmor = containerConfig({
    spec: { ...spec, template: runtime.name },
    template: runtime,
    nodeId: "n",
    gatewayToken: "t",
    host: { apparmor: true },
    network: "clawfleet-net-s1",
    dataSource: "/agent-data/volumes/mnt/s/data",
    providerEnv: {},
    extraLabels: {},
  });
  expect(withAppArmor.HostConfig.SecurityOpt).toContain("apparmor=docker-default");
});

test("admins add or replace templates by config; unsafe ones are refused", () => {
  const all = loadTemplates(
    JSON.stringify([
      { name: "mine", image: "registry.local/mine:2", port: 9000, dataPath: "/state", user: "2000:2000" },
    ]),
  );
  expect(all.map((t) => t.name)).toEqual(["clawfleet-runtime", "openclaw", "mine"]);
  expect(all.find((t) => t.name === "mine")?.gatewayPath).toBe("/");
  for (const bad of [
    [{ name: "root", image: "x:1", port: 1, dataPath: "/d", user: "0:0" }],
    // Root spelled otherwise, root's group, and names that may map to root inside the image.
    [{ name: "zeros", image: "x:1", port: 1, dataPath: "/d", user: "00" }],
    [{ name: "rootgroup", image: "x:1", port: 1, dataPath: "/d", user: "1000:0" }],
    [{ name: "rootgroup2", image: "x:1", port: 1, dataPath: "/d", user: "1000:000" }],
    [{ name: "named", image: "x:1", port: 1, dataPath: "/d", user: "toor" }],
    [{ name: "named2", image: "x:1", port: 1, dataPath: "/d", user: "app:root" }],
    [{ name: "slash", image: "x:1", port: 1, dataPath: "/", user: "1:1" }],
    [{ name: "Bad Name", image: "x:1", port: 1, dataPath: "/d", user: "1:1" }],
    [{ name: "raw", image: "x:1", port: 1, dataPath: "/d", user: "1:1", HostConfig: { Privileged: true } }],
    [{ name: "nouser", image: "x:1", port: 1, dataPath: "/d" }],
    [{ name: "up", image: "x:1", port: 1, dataPath: "/d/../etc", user: "1:1" }],
    [{ name: "h", image: "x:1", port: 1, dataPath: "/d", user: "1:1", health: { path: "/", timeoutMs: 1 } }],
    [{ name: "k", image: "x:1", port: 1, dataPath: "/d", user: "1:1", keyEnv: { mistral: "MISTRAL_KEY" } }],
    [{ name: "e", image: "x:1", port: 1, dataPath: "/d", user: "1:1", env: { "BAD NAME": "x" } }],
    [{ name: "c", image: "x:1", port: 1, dataPath: "/d", user: "1:1", command: "sh -c evil" }],
    { not: "an array" },
  ]) {
    expect(() => loadTemplates(JSON.stringify(bad))).toThrow(TemplateError);
  }
  expect(() => loadTemplates("{not json")).toThrow(TemplateError);
});

test("a template cannot loosen the hardened configuration: its fields only name image, port, paths and env", () => {
  const [custom] = loadTemplates(
    JSON.stringify([
      {
        name: "loose",
        image: "x:1",
        port: 9000,
        dataPath: "/state",
        user: "2000",
        env: { FOO: "bar" },
        command: ["/srv", "--flag"],
      },
    ]),
  ).slice(-1);
  if (!custom) throw new Error("no template");
  const config = containerConfig({
    spec: { ...spec, template: "loose" },
    template: custom,
    nodeId: "n",
    gatewayToken: "t",
    host: { apparmor: false },
    network: "clawfleet-net-s1",
    dataSource: "/agent-data/volumes/mnt/s/data",
    providerEnv: providerEnv(custom.keyEnv),
    extraLabels: {},
  });
  expect(config.Cmd).toEqual(["/srv", "--flag"]);
  expect(config.Env).toContain("FOO=bar");
  expect(config.HostConfig.CapDrop).toEqual(["ALL"]);
  expect(config.HostConfig.ReadonlyRootfs).toBe(true);
  expect(config.HostConfig.Mounts).toEqual([
    {
      Type: "bind",
      Source: "/agent-data/volumes/mnt/s/data",
      Target: "/state",
      ReadOnly: false,
      BindOptions: { Propagation: "rprivate" },
    },
  ]);
  expect(config.HostConfig.PortBindings).toEqual({ "9000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] });
});
