import type { ServerConfig } from "../config.ts";
import { loadMasterKeyring } from "../secrets/master_keys.ts";
import { rotateCredentials } from "../secrets/rotate.ts";
import { UsageError } from "./args.ts";
import { withDatabase } from "./database.ts";

export const KEYS_HELP = `Usage: clawfleet keys rotate

Re-encrypts every stored provider key and volume key under the newest master key (the first in
CLAWFLEET_MASTER_KEYS). Safe while the server runs; safe to interrupt and run again.
Procedure: put the new key first in CLAWFLEET_MASTER_KEYS, keep the old ones after it, restart the
servers, run this, then remove the old keys once it reports nothing left.
`;

export async function runKeysRotate(config: ServerConfig, args: string[]): Promise<string> {
  if (args[0] !== "rotate") throw new UsageError("unknown keys command (see clawfleet keys --help)");
  const keyring = await loadMasterKeyring(config);
  const report = await withDatabase(config, (db) => rotateCredentials(db, keyring));
  const lines = [`rotated ${report.rotated} key(s) to master key "${keyring.newest.id}"`];
  if (report.unknownKeyIds.length) {
    lines.push(
      `keys under unknown master key id(s) ${report.unknownKeyIds.join(", ")} were left as they are`,
    );
  }
  if (report.failed) lines.push(`${report.failed} key(s) could not be decrypted and were left as they are`);
  if (report.unknownKeyIds.length || report.failed) throw new UsageError(lines.join("; "));
  return `${lines.join("\n")}\n`;
}
