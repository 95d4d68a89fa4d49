// The agent's own TLS certificate: given (CLAWFLEET_TLS_CERT/KEY) or generated on first start into
// the data dir (x509.ts: WebCrypto, no openssl needed; key file 0600). The control plane pins its
// SHA-256 fingerprint (`clawfleet-agent cert`), so no CA is involved.

import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../common/config_error.ts";
import { sha256Hex } from "../common/crypto.ts";
import { selfSignedCertificate } from "./x509.ts";

export type AgentTls = { cert: string; key: string; fingerprint: string };

export function pemToDer(pem: string): Uint8Array {
  const body = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? "";
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64"));
}

/** Lower-case hex SHA-256 of the (first) certificate's DER, no separators. */
export function fingerprintOf(pem: string): string {
  return sha256Hex(pemToDer(pem));
}

export function formatFingerprint(hex: string): string {
  return `sha256:${hex.match(/.{2}/g)?.join(":") ?? hex}`;
}

/** Writes `content` to `path` only if it does not exist yet, never leaving a half-written file. */
function writeOnce(path: string, content: string, mode: number): void {
  const temp = `${path}.${process.pid}.${crypto.randomUUID().slice(0, 8)}`;
  writeFileSync(temp, content, { mode, flag: "wx" });
  try {
    linkSync(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

async function generate(dataDir: string, certPath: string, keyPath: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const { certPem, keyPem } = await selfSignedCertificate({
    commonName: "clawfleet-agent",
    dnsNames: ["clawfleet-agent", "localhost"],
    ipAddresses: ["127.0.0.1"],
    days: 3650,
  });
  // Key first, so a certificate on disk always has its key beside it. Two agents starting at once on
  // the same data dir keep whichever key was linked first, and its certificate.
  writeOnce(keyPath, keyPem, 0o600);
  if (readFileSync(keyPath, "utf8") === keyPem) writeOnce(certPath, certPem, 0o644);
}

export async function ensureCertificate(
  dataDir: string,
  given?: { cert: string; key: string } | null,
): Promise<AgentTls> {
  const certPath = given?.cert ?? join(dataDir, "agent-cert.pem");
  const keyPath = given?.key ?? join(dataDir, "agent-key.pem");
  if (!given && !existsSync(certPath)) {
    if (!existsSync(keyPath)) await generate(dataDir, certPath, keyPath);
    for (let i = 0; i < 50 && !existsSync(certPath); i++) await Bun.sleep(20);
    if (!existsSync(certPath)) {
      // A key without its certificate: a start that died between the two writes.
      rmSync(keyPath, { force: true });
      await generate(dataDir, certPath, keyPath);
    }
  }
  const read = (variable: string, path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      throw new ConfigError(`${variable}: cannot read ${path}`);
    }
  };
  const cert = read(given ? "CLAWFLEET_TLS_CERT" : "CLAWFLEET_AGENT_DATA_DIR", certPath);
  const key = read(given ? "CLAWFLEET_TLS_KEY" : "CLAWFLEET_AGENT_DATA_DIR", keyPath);
  if (!cert.includes("BEGIN CERTIFICATE"))
    throw new ConfigError(
      `${given ? "CLAWFLEET_TLS_CERT" : "CLAWFLEET_AGENT_DATA_DIR"}: ${certPath} is not a PEM certificate`,
    );
  if (!/BEGIN (EC |RSA )?PRIVATE KEY/.test(key))
    throw new ConfigError(
      `${given ? "CLAWFLEET_TLS_KEY" : "CLAWFLEET_AGENT_DATA_DIR"}: ${keyPath} is not a PEM private key`,
    );
  return { cert, key, fingerprint: fingerprintOf(cert) };
}
