import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../common/config_error.ts";
import { loadServerConfig } from "../../src/config.ts";
import { LETS_ENCRYPT_DIRECTORY } from "../../src/tls/acme_config.ts";
import { isLoopbackHost, servesPlainHttpPublicly } from "../../src/tls/plain_http_warning.ts";
import { startTestServer } from "../helpers/server.ts";

describe("ACME settings", () => {
  test("off without CLAWFLEET_DOMAIN; Let's Encrypt and port 80 by default", () => {
    expect(loadServerConfig({}).acme).toBeNull();
    expect(loadServerConfig({ CLAWFLEET_DOMAIN: "Fleet.Example.com" }).acme).toEqual({
      domain: "fleet.example.com",
      httpPort: 80,
      directoryUrl: LETS_ENCRYPT_DIRECTORY,
      email: null,
      directoryCa: null,
    });
  });

  test.each([
    [{ CLAWFLEET_DOMAIN: "not a domain" }, /CLAWFLEET_DOMAIN/],
    [{ CLAWFLEET_DOMAIN: "127.0.0.1" }, /CLAWFLEET_DOMAIN/],
    [{ CLAWFLEET_DOMAIN: "a.example.com", CLAWFLEET_TLS_CERT: "c", CLAWFLEET_TLS_KEY: "k" }, /not both/],
    [{ CLAWFLEET_DOMAIN: "a.example.com", CLAWFLEET_ACME_DIRECTORY: "http://ca.example/dir" }, /https/],
    [{ CLAWFLEET_DOMAIN: "a.example.com", CLAWFLEET_HTTP_PORT: "99999" }, /CLAWFLEET_HTTP_PORT/],
    [
      { CLAWFLEET_DOMAIN: "a.example.com", CLAWFLEET_ACME_CA_CERT: "/nonexistent.pem" },
      /CLAWFLEET_ACME_CA_CERT/,
    ],
    [{ CLAWFLEET_DOMAIN: "a.example.com", CLAWFLEET_ACME_EMAIL: "nope" }, /CLAWFLEET_ACME_EMAIL/],
    [{ CLAWFLEET_HOOK_WAIT: "forever" }, /CLAWFLEET_HOOK_WAIT/],
    [{ CLAWFLEET_APPS_DOMAIN: "apps.example.com" }, /CLAWFLEET_PUBLIC_URL/],
    [
      { CLAWFLEET_APPS_DOMAIN: "apps example", CLAWFLEET_PUBLIC_URL: "https://example.com" },
      /CLAWFLEET_APPS_DOMAIN/,
    ],
    [
      { CLAWFLEET_APPS_DOMAIN: "example.com", CLAWFLEET_PUBLIC_URL: "https://console.example.com" },
      /must not be inside the apps domain/,
    ],
  ])("a bad value stops start-up naming the variable: %p", (env, message) => {
    expect(() => loadServerConfig(env)).toThrow(ConfigError);
    expect(() => loadServerConfig(env)).toThrow(message);
  });
});

describe("plain HTTP warning", () => {
  test("loopback addresses are quiet, every other plain-HTTP address warns", () => {
    for (const host of ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
      expect(isLoopbackHost(host)).toBe(true);
    expect(servesPlainHttpPublicly("0.0.0.0", false)).toBe(true);
    expect(servesPlainHttpPublicly("::", false)).toBe(true);
    expect(servesPlainHttpPublicly("192.0.2.10", false)).toBe(true);
    expect(servesPlainHttpPublicly("0.0.0.0", true)).toBe(false);
    expect(servesPlainHttpPublicly("127.0.0.1", false)).toBe(false);
  });

  test("a server on 0.0.0.0 over plain HTTP says so at start; on loopback it does not", async () => {
    const open = await startTestServer("pglite", { env: { HOST: "0.0.0.0" } });
    const local = await startTestServer("pglite");
    try {
      expect(open.logs.some((l) => l.includes("plain HTTP on a non-loopback address"))).toBe(true);
      expect(local.logs.some((l) => l.includes("plain HTTP on a non-loopback address"))).toBe(false);
    } finally {
      await open.close();
      await local.close();
    }
  });
});
