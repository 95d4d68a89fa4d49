import { readFileSync, writeFileSync } from "node:fs";
import type { ServerConfig } from "../config.ts";
import { loadMasterKeyring } from "../secrets/master_keys.ts";
import { parseFlags, UsageError } from "./args.ts";
import { BackupError, createBackup, restoreBackup } from "./backup.ts";
import { withDatabase } from "./database.ts";

export async function runBackupCommand(command: "backup" | "restore", config: ServerConfig, args: string[]) {
  const { values } = parseFlags(args, { out: "string", in: "string" });
  const keyring = await loadMasterKeyring(config);
  try {
    if (command === "backup") {
      const path =
        typeof values.out === "string"
          ? values.out
          : `clawfleet-backup-${new Date().toISOString().slice(0, 10)}.cfb`;
      const file = await withDatabase(config, (db) => createBackup(db, keyring.entries));
      writeFileSync(path, file, { mode: 0o600, flag: "wx" });
      return `backup written to ${path} (${file.byteLength} bytes, master key "${keyring.newest.id}")\n`;
    }
    if (typeof values.in !== "string") throw new UsageError("restore needs --in FILE");
    let file: Uint8Array;
    try {
      file = new Uint8Array(readFileSync(values.in));
    } catch {
      throw new UsageError(`cannot read ${values.in}`);
    }
    const counts = await withDatabase(config, (db) => restoreBackup(db, file, keyring.entries));
    return `restored: ${Object.entries(counts)
      .map(([table, n]) => `${table} ${n}`)
      .join(", ")}\n`;
  } catch (error) {
    if (error instanceof BackupError) throw new UsageError(error.message);
    if ((error as { code?: string }).code === "EEXIST")
      throw new UsageError("the backup file already exists");
    throw error;
  }
}
