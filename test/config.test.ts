import { describe, expect, test } from "bun:test";
import { ConfigError } from "../common/config_error.ts";
import { parseKeyring } from "../common/keyring.ts";
import { loadServerConfig } from "../src/config.ts";

const key32 = Buffer.alloc(32, 7).toString("base64");

describe("loadServerConfig", () => {
  test("defaults: PGlite in ./data, port 3000, agent on 0.0.0.0:7443", () => {
    const config = loadServerConfig({});
    expect(config.databaseUrl).toBeNull();
    expect(config.dataDir.endsWith("/data")).toBe(true);
    expect(config.port).toBe(3000);
    expect(config.agentListen).toEqual({ host: "0.0.0.0", port: 7443 });
    expect(config.dockerSocket).toBe("/var/run/docker.sock");
    expect(config.tls).toBeNull();
  });

  test("flags override the environment", () => {
    const config = loadServerConfig({ PORT: "4000" }, ["--port", "4001", "--data-dir=/tmp/x"]);
    expect(config.port).toBe(4001);
    expect(config.dataDir).toBe("/tmp/x");
  });

  test("keyrings keep their order, newest first", () => {
    const config = loadServerConfig({ CLAWFLEET_MASTER_KEYS: `k2:${key32},k1:${key32}` });
    expect(config.masterKeys.map((k) => k.id)).toEqual(["k2", "k1"]);
    expect(config.masterKeys[0]?.secret.length).toBe(32);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ["PORT", { PORT: "abc" }, /^PORT: /],
    ["PORT range", { PORT: "70000" }, /^PORT: /],
    ["DATABASE_URL", { DATABASE_URL: "mysql://x" }, /^DATABASE_URL: /],
    ["CLAWFLEET_PUBLIC_URL", { CLAWFLEET_PUBLIC_URL: "not a url" }, /^CLAWFLEET_PUBLIC_URL: /],
    ["CLAWFLEET_MASTER_KEYS", { CLAWFLEET_MASTER_KEYS: "k1:c2hvcnQ=" }, /^CLAWFLEET_MASTER_KEYS: /],
    ["CLAWFLEET_CLUSTER_SECRETS", { CLAWFLEET_CLUSTER_SECRETS: "a:short" }, /^CLAWFLEET_CLUSTER_SECRETS: /],
    ["CLAWFLEET_AGENT_LISTEN", { CLAWFLEET_AGENT_LISTEN: "7443" }, /^CLAWFLEET_AGENT_LISTEN: /],
    ["CLAWFLEET_TLS_KEY", { CLAWFLEET_TLS_CERT: "/c.pem" }, /^CLAWFLEET_TLS_KEY: /],
    [
      "CLAWFLEET_TRUSTED_PROXIES",
      { CLAWFLEET_TRUSTED_PROXIES: "example.com" },
      /^CLAWFLEET_TRUSTED_PROXIES: /,
    ],
    ["CLAWFLEET_LOG_LEVEL", { CLAWFLEET_LOG_LEVEL: "loud" }, /^CLAWFLEET_LOG_LEVEL: /],
    // `/33` once trusted half the internet (the mask wrapped around); IPv6 gets the same strictness.
    [
      "CLAWFLEET_TRUSTED_PROXIES /33",
      { CLAWFLEET_TRUSTED_PROXIES: "10.0.0.1/33" },
      /^CLAWFLEET_TRUSTED_PROXIES: /,
    ],
    [
      "CLAWFLEET_TRUSTED_PROXIES /129",
      { CLAWFLEET_TRUSTED_PROXIES: "fd00::/129" },
      /^CLAWFLEET_TRUSTED_PROXIES: /,
    ],
    [
      "CLAWFLEET_TRUSTED_PROXIES 1::2::3",
      { CLAWFLEET_TRUSTED_PROXIES: "1::2::3" },
      /^CLAWFLEET_TRUSTED_PROXIES: /,
    ],
  ];

  test("CLAWFLEET_TRUSTED_PROXIES accepts IPv4 and IPv6 addresses and CIDRs", () => {
    const config = loadServerConfig({ CLAWFLEET_TRUSTED_PROXIES: "10.0.0.0/8, 192.0.2.1, fd00::/8, ::1" });
    expect(config.trustedProxies).toEqual(["10.0.0.0/8", "192.0.2.1", "fd00::/8", "::1"]);
  });
  for (const [name, env, pattern] of bad) {
    test(`a bad ${name} is one clear line naming the variable`, () => {
      let caught: unknown;
      try {
        loadServerConfig(env);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      const message = (caught as Error).message;
      expect(message).toMatch(pattern);
      expect(message).not.toContain("\n");
    });
  }

  test("a keyring error never echoes the secret", () => {
    const secret = "this-is-the-secret-value";
    expect(() => parseKeyring("X", `bad id!:${secret}`, "secret")).toThrow(ConfigError);
    try {
      parseKeyring("X", `k1:${secret}`, "aes256");
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
    }
  });
});
