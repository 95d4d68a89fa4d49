// The ACME certificate and keys live in `<data dir>/tls/`, keys mode 0600. Each file is written to a
// temporary name and renamed, so a crash mid-write never leaves a key beside another key's certificate
// (the key is renamed last, after its certificate: a reader that finds both finds a matching pair
// or the previous one).
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type CertificatePair = { cert: string; key: string };
export type StoredCertificate = CertificatePair & { notAfter: Date };

function tlsDir(dataDir: string): string {
  return join(dataDir, "tls");
}

/** Names are checked by config (a hostname), so they are safe as file names. */
function pairPaths(dataDir: string, domain: string) {
  const dir = tlsDir(dataDir);
  return { cert: join(dir, `${domain}.crt`), key: join(dir, `${domain}.key`) };
}

export function accountKeyPath(dataDir: string): string {
  return join(tlsDir(dataDir), "acme-account.key");
}

/** When the first certificate of a PEM chain (the leaf) stops being valid. */
export function certificateNotAfter(pem: string): Date {
  return new Date(new X509Certificate(pem).validTo);
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode });
  await chmod(temporary, mode);
  await rename(temporary, path);
}

export async function readCertificate(dataDir: string, domain: string): Promise<StoredCertificate | null> {
  const paths = pairPaths(dataDir, domain);
  try {
    const [cert, key] = await Promise.all([readFile(paths.cert, "utf8"), readFile(paths.key, "utf8")]);
    return { cert, key, notAfter: certificateNotAfter(cert) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

export async function writeCertificate(
  dataDir: string,
  domain: string,
  pair: CertificatePair,
): Promise<void> {
  await mkdir(tlsDir(dataDir), { recursive: true, mode: 0o700 });
  const paths = pairPaths(dataDir, domain);
  await writeAtomically(paths.cert, pair.cert, 0o644);
  await writeAtomically(paths.key, pair.key, 0o600);
}

export async function readOrCreateAccountKey(
  dataDir: string,
  create: () => Promise<string>,
): Promise<string> {
  const path = accountKeyPath(dataDir);
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(tlsDir(dataDir), { recursive: true, mode: 0o700 });
  const key = await create();
  await writeAtomically(path, key, 0o600);
  return key;
}

function accountUrlPath(dataDir: string): string {
  return join(tlsDir(dataDir), "acme-account.url");
}

export async function readAccountUrl(dataDir: string): Promise<string | null> {
  try {
    return (await readFile(accountUrlPath(dataDir), "utf8")).trim() || null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

export async function writeAccountUrl(dataDir: string, url: string): Promise<void> {
  await mkdir(tlsDir(dataDir), { recursive: true, mode: 0o700 });
  await writeAtomically(accountUrlPath(dataDir), `${url}\n`, 0o644);
}
