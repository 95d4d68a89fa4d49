// Let's Encrypt's test CA, pebble (Debian's package), on loopback, with real HTTP-01 validation: its
// DNS lookups go to pebble-challtestsrv, which answers every name with 127.0.0.1 (and no IPv6), so
// validation connects to the server under test and nothing leaves this machine.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, tempDir } from "./process.ts";

export type Pebble = {
  directoryUrl: string;
  /** PEM of the certificate pebble's own HTTPS listener serves (trust it for the directory). */
  directoryCaPath: string;
  /** PEM of the root that pebble's issued certificates chain to (fetched from its management API). */
  issuingRoot(): Promise<string>;
  stop(): Promise<void>;
};

function run(cmd: string[]): void {
  const result = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${cmd[0]} failed: ${result.stderr.toString()}`);
}

async function waitForPort(port: number, proc: Subprocess, name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
    try {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      socket.end();
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
  throw new Error(`${name} did not listen on ${port}`);
}

/** `httpPort`: where pebble sends HTTP-01 validation (the server's CLAWFLEET_HTTP_PORT). */
export async function startPebble(httpPort: number): Promise<Pebble> {
  const dir = tempDir("cf-pebble");
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, "wfe.crt");
  const key = join(dir, "wfe.key");
  run([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    "/CN=pebble test directory",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  const [wfePort, managementPort, dnsPort, dnsManagementPort, tlsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const config = join(dir, "pebble.json");
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${wfePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: cert,
        privateKey: key,
        httpPort,
        tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const dns = Bun.spawn(
    [
      "pebble-challtestsrv",
      "-defaultIPv4",
      "127.0.0.1",
      "-defaultIPv6",
      "",
      "-dns01",
      `127.0.0.1:${dnsPort}`,
      "-http01",
      "",
      "-https01",
      "",
      "-tlsalpn01",
      "",
      "-management",
      `127.0.0.1:${dnsManagementPort}`,
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  await waitForPort(dnsManagementPort, dns, "pebble-challtestsrv");
  const pebble = Bun.spawn(["pebble", "-config", config, "-dnsserver", `127.0.0.1:${dnsPort}`], {
    // No artificial sleeps before validation, and no random nonce rejections: the test is about
    // validation, not about the client's retry loop.
    env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
    stdout: "ignore",
    stderr: "ignore",
  });
  await waitForPort(wfePort, pebble, "pebble");
  const directoryCa = await Bun.file(cert).text();
  return {
    directoryUrl: `https://127.0.0.1:${wfePort}/dir`,
    directoryCaPath: cert,
    async issuingRoot() {
      const response = await fetch(`https://127.0.0.1:${managementPort}/roots/0`, {
        tls: { ca: directoryCa },
      });
      if (!response.ok) throw new Error(`pebble roots: ${response.status}`);
      return response.text();
    },
    async stop() {
      pebble.kill();
      dns.kill();
      await Promise.all([pebble.exited, dns.exited]);
    },
  };
}
