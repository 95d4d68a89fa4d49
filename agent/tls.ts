// The agent's own TLS certificate: given (CLAWFLEET_TLS_CERT/KEY) or generated on first start into the
// data dir with openssl (an EC P-256 self-signed certificate, key file 0600). The control plane pins
// its SHA-256 fingerprint (`clawfleet-agent cert`), so no CA is involved.
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export class TlsError extends Error {}

export type AgentTls = { certPath: string; keyPath: string; cert: string; fingerprint: string };

export function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  return new Uint8Array(Buffer.from(body, "base64"));
}

/** Lower-case hex SHA-256 of the certificate's DER, no separators. */
export function fingerprintOf(pem: string): string {
  return new Bun.CryptoHasher("sha256").update(pemToDer(pem)).digest("hex");
}

export function ensureCertificate(dataDir: string, given?: { cert: string; key: string } | null): AgentTls {
  let certPath = given?.cert ?? join(dataDir, "agent-cert.pem");
  let keyPath = given?.key ?? join(dataDir, "agent-key.pem");
  if (!given && !(existsSync(certPath) && existsSync(keyPath))) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const proc = Bun.spawnSync(
      [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        keyPath,
        "-out",
        certPath,
        "-days",
        "3650",
        "-subj",
        "/CN=clawfleet-agent",
        "-addext",
        "subjectAltName=DNS:clawfleet-agent,DNS:localhost,IP:127.0.0.1",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    if (proc.exitCode !== 0)
      throw new TlsError(`could not generate a certificate with openssl: ${proc.stderr.toString().trim()}`);
    chmodSync(keyPath, 0o600);
  }
  if (!existsSync(certPath) || !existsSync(keyPath))
    throw new TlsError("the TLS certificate or key file does not exist");
  certPath = certPath.toString();
  keyPath = keyPath.toString();
  const cert = readFileSync(certPath, "utf8");
  if (!cert.includes("BEGIN CERTIFICATE")) throw new TlsError(`${certPath} is not a PEM certificate`);
  return { certPath, keyPath, cert, fingerprint: fingerprintOf(cert) };
}

export function formatFingerprint(hex: string): string {
  return `sha256:${hex.match(/.{2}/g)?.join(":") ?? hex}`;
}
