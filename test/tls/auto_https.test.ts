// Automatic HTTPS against pebble with real HTTP-01 validation: the certificate is ordered, stored in
// the data dir, served with HSTS, renewed onto a new listener, and plain HTTP redirects.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, rmSync, statSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { createLogger } from "../../common/log.ts";
import { loadServerConfig } from "../../src/config.ts";
import { startServer } from "../../src/server.ts";
import { type Pebble, startPebble } from "../helpers/pebble.ts";
import { freePort, tempDir } from "../helpers/process.ts";
import { startTestServer, TEST_MASTER_KEYS, type TestServer } from "../helpers/server.ts";

const DOMAIN = "console.clawfleet.test";

function peerCertificate(
  port: number,
  ca: string,
): Promise<{ authorized: boolean; cert: PeerCertificate; error?: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, servername: DOMAIN, ca, rejectUnauthorized: false },
      () => {
        resolve({
          authorized: socket.authorized,
          cert: socket.getPeerCertificate(),
          error: socket.authorizationError?.toString(),
        });
        socket.end();
      },
    );
    socket.on("error", reject);
  });
}

function getOverHttps(
  port: number,
  ca: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path, servername: DOMAIN, ca, headers: { host: DOMAIN } },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("automatic HTTPS through ACME (pebble)", () => {
  let pebble: Pebble;
  let server: TestServer;
  let httpPort: number;
  let root: string;

  beforeAll(async () => {
    httpPort = await freePort();
    pebble = await startPebble(httpPort);
    server = await startTestServer("pglite", {
      env: {
        CLAWFLEET_DOMAIN: DOMAIN,
        CLAWFLEET_HTTP_PORT: String(httpPort),
        CLAWFLEET_ACME_DIRECTORY: pebble.directoryUrl,
        CLAWFLEET_ACME_CA_CERT: pebble.directoryCaPath,
      },
    });
    root = await pebble.issuingRoot();
  });

  afterAll(async () => {
    await server?.close();
    await pebble?.stop();
  });

  test("serves a certificate for the domain that chains to the CA's root", async () => {
    const { authorized, cert, error } = await peerCertificate(server.ctx.config.port, root);
    expect(error).toBeUndefined();
    expect(authorized).toBe(true);
    expect(cert.subjectaltname).toBe(`DNS:${DOMAIN}`);
    expect(server.url.startsWith("https://")).toBe(true);
  });

  test("a certificate that only chains to another root is not trusted (the check can fail)", async () => {
    const other = await Bun.file(pebble.directoryCaPath).text();
    const { authorized } = await peerCertificate(server.ctx.config.port, other);
    expect(authorized).toBe(false);
  });

  test("answers over HTTPS with HSTS", async () => {
    const { status, headers } = await getOverHttps(server.ctx.config.port, root, "/healthz");
    expect(status).toBe(200);
    expect(String(headers["strict-transport-security"])).toContain("max-age=");
  });

  test("stores the certificate and keys in the data dir, keys readable by the owner only", () => {
    const dir = join(server.ctx.config.dataDir, "tls");
    expect(statSync(join(dir, `${DOMAIN}.key`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "acme-account.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, `${DOMAIN}.crt`)).size).toBeGreaterThan(0);
    const logs = server.logs.join("\n");
    expect(logs).not.toContain("PRIVATE KEY");
  });

  test("plain HTTP redirects to the HTTPS origin of the configured domain, whatever the Host", async () => {
    const response = await fetch(`http://127.0.0.1:${httpPort}/login?next=%2Fkeys`, {
      redirect: "manual",
      headers: { host: "evil.example" },
    });
    expect(response.status).toBe(308);
    expect(response.headers.get("location")).toBe(
      `https://${DOMAIN}:${server.ctx.config.port}/login?next=%2Fkeys`,
    );
  });

  test("an unknown challenge token is a 404, not a redirect", async () => {
    const response = await fetch(`http://127.0.0.1:${httpPort}/.well-known/acme-challenge/nope`, {
      redirect: "manual",
    });
    expect(response.status).toBe(404);
  });

  test("renews only when due, then serves the new certificate", async () => {
    const autoHttps = server.autoHttps;
    if (!autoHttps) throw new Error("automatic HTTPS did not start");
    const before = await peerCertificate(server.ctx.config.port, root);
    expect(await autoHttps.renewIfDue(new Date())).toBe(false);
    // pebble's certificates last years; move the clock to 29 days before this one ends.
    const dueAt = new Date(new Date(before.cert.valid_to).getTime() - 29 * 86_400_000);
    expect(await autoHttps.renewIfDue(new Date(dueAt.getTime() - 2 * 86_400_000))).toBe(false);
    expect(await autoHttps.renewIfDue(dueAt)).toBe(true);
    const after = await peerCertificate(server.ctx.config.port, root);
    expect(after.authorized).toBe(true);
    expect(after.cert.serialNumber).not.toBe(before.cert.serialNumber);
    const { status } = await getOverHttps(server.ctx.config.port, root, "/healthz");
    expect(status).toBe(200);
  });

  test("a restart serves the stored certificate without asking the CA (pebble is gone)", async () => {
    const before = await peerCertificate(server.ctx.config.port, root);
    // A fresh data dir holding only the stored certificate and account (not the first server's database).
    const dataDir = tempDir("cf-https-restart");
    cpSync(join(server.ctx.config.dataDir, "tls"), join(dataDir, "tls"), { recursive: true });
    await pebble.stop();
    const logs: string[] = [];
    const again = await startServer(
      loadServerConfig({
        CLAWFLEET_DATA_DIR: dataDir,
        PORT: String(await freePort()),
        HOST: "127.0.0.1",
        CLAWFLEET_MASTER_KEYS: TEST_MASTER_KEYS,
        DOCKER_SOCKET: "/nonexistent.sock",
        CLAWFLEET_DOMAIN: DOMAIN,
        CLAWFLEET_HTTP_PORT: String(await freePort()),
        CLAWFLEET_ACME_DIRECTORY: pebble.directoryUrl,
        CLAWFLEET_ACME_CA_CERT: pebble.directoryCaPath,
      }),
      createLogger("debug", {}, (line) => logs.push(line)),
      { localAgent: false },
    );
    try {
      const after = await peerCertificate(again.ctx.config.port, root);
      expect(after.authorized).toBe(true);
      expect(after.cert.serialNumber).toBe(before.cert.serialNumber);
      expect(logs.join("\n")).not.toContain("ordering a certificate");
    } finally {
      await again.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
