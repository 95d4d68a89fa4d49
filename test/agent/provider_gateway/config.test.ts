// The provider gateway's settings: defaults, and one clear line naming the variable for a bad value.
import { expect, test } from "bun:test";
import { loadAgentConfig } from "../../../agent/config.ts";
import { ConfigError } from "../../../common/config_error.ts";

const base = {
  CLAWFLEET_CLUSTER_SECRETS: `k:${"s".repeat(40)}`,
  CLAWFLEET_NODE_ID: "n1",
  CLAWFLEET_AGENT_DATA_DIR: "/tmp/cf-gw-config",
};

test("defaults: port 7480, public upstreams, no server until told", () => {
  const { providerGateway } = loadAgentConfig(base, []);
  expect(providerGateway).toEqual({
    port: 7480,
    serverUrl: null,
    serverCa: null,
    upstreamCa: null,
    upstreams: {
      anthropic: "https://api.anthropic.com",
      openai: "https://api.openai.com",
      google: "https://generativelanguage.googleapis.com",
      openrouter: "https://openrouter.ai",
    },
  });
  const set = loadAgentConfig(
    {
      ...base,
      CLAWFLEET_SERVER_URL: "https://control.example.test/",
      CLAWFLEET_PROVIDER_UPSTREAMS: "openai=https://egress.example.test/openai/",
    },
    [],
  ).providerGateway;
  expect(set.serverUrl).toBe("https://control.example.test");
  expect(set.upstreams.openai).toBe("https://egress.example.test/openai");
  expect(
    loadAgentConfig({ ...base }, ["--server-url", "http://127.0.0.1:3000"]).providerGateway.serverUrl,
  ).toBe("http://127.0.0.1:3000");
});

test("keys never travel in the clear: http upstreams, remote http servers, bad ports and files are refused", () => {
  for (const [env, name] of [
    [{ CLAWFLEET_PROVIDER_UPSTREAMS: "openai=http://127.0.0.1:1" }, "CLAWFLEET_PROVIDER_UPSTREAMS"],
    [{ CLAWFLEET_PROVIDER_UPSTREAMS: "mistral=https://x.test" }, "CLAWFLEET_PROVIDER_UPSTREAMS"],
    [{ CLAWFLEET_PROVIDER_UPSTREAMS: "openai=https://user:pw@x.test" }, "CLAWFLEET_PROVIDER_UPSTREAMS"],
    [{ CLAWFLEET_SERVER_URL: "http://control.example.test" }, "CLAWFLEET_SERVER_URL"],
    [{ CLAWFLEET_SERVER_URL: "not a url" }, "CLAWFLEET_SERVER_URL"],
    [{ CLAWFLEET_PROVIDER_GATEWAY_PORT: "70000" }, "CLAWFLEET_PROVIDER_GATEWAY_PORT"],
    [{ CLAWFLEET_PROVIDER_CA: "/nonexistent.pem" }, "CLAWFLEET_PROVIDER_CA"],
  ] as const) {
    let error: unknown;
    try {
      loadAgentConfig({ ...base, ...env }, []);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.startsWith(`${name}:`)).toBe(true);
  }
});
