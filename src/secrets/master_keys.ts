// The master keyring: CLAWFLEET_MASTER_KEYS (newest first) or, with none given, one key generated into
// <data dir>/master.key (mode 0600, directory 0700) on first start and reused afterwards. Replicas that
// share a database must share CLAWFLEET_MASTER_KEYS: a generated key lives on one machine only.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type KeyringEntry, parseKeyring } from "../../common/keyring.ts";
import type { MasterKey } from "./aead.ts";

export class MasterKeyError extends Error {
  override name = "MasterKeyError";
}

export type MasterKeyring = {
  entries: KeyringEntry[];
  newest: MasterKey;
  /** The newest key's bytes, from which the auth keys are derived (src/auth/keys.ts). */
  newestSecret: Uint8Array<ArrayBuffer>;
  byId(id: string): MasterKey | undefined;
};

export const MASTER_KEY_FILE = "master.key";

function readOrCreateKeyFile(dataDir: string): KeyringEntry[] {
  const path = join(dataDir, MASTER_KEY_FILE);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
    const id = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}`;
    writeFileSync(path, `${id}:${key}\n`, { mode: 0o600, flag: "wx" });
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new MasterKeyError(
      `${path} must be readable by its owner only (chmod 600), it is ${mode.toString(8)}`,
    );
  }
  try {
    return parseKeyring(path, readFileSync(path, "utf8").trim(), "aes256");
  } catch (error) {
    throw new MasterKeyError(`${path} is not a valid master key file: ${(error as Error).message}`);
  }
}

async function importKey(entry: KeyringEntry, subtle: SubtleCrypto): Promise<MasterKey> {
  const key = await subtle.importKey("raw", entry.secret, { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
  return { id: entry.id, key };
}

export async function loadMasterKeyring(
  config: { masterKeys: KeyringEntry[]; dataDir: string },
  subtle: SubtleCrypto = crypto.subtle,
): Promise<MasterKeyring> {
  const entries = config.masterKeys.length ? config.masterKeys : readOrCreateKeyFile(config.dataDir);
  const keys = await Promise.all(entries.map((e) => importKey(e, subtle)));
  const newest = keys[0];
  const newestSecret = entries[0]?.secret;
  if (!newest || !newestSecret) throw new MasterKeyError("no master key configured");
  return { entries, newest, newestSecret, byId: (id) => keys.find((k) => k.id === id) };
}
