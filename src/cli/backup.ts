// `clawfleet backup` / `clawfleet restore`: every table as JSON (PostgreSQL's own row_to_json and
// json_populate_recordset, so types round-trip exactly), gzipped, then AES-256-GCM under a key derived
// from the newest master key. The file is useless without the master keyring, which is also what the
// stored provider keys need. Restore only goes into an empty (freshly migrated) database.
import { sql } from "drizzle-orm";
import type { KeyringEntry } from "../../common/keyring.ts";
import { MIGRATIONS } from "../../migrations/index.ts";
import { type Db, rowsOf } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";

const MAGIC = "CLAWFLEET-BACKUP-1";
// Parents before children, so foreign keys hold while restoring.
export const BACKUP_TABLES = [
  "plans",
  "users",
  "nodes",
  "auth_sessions",
  "credentials",
  "agent_sessions",
  "login_attempts",
  "audit_log",
  "usage_daily",
  "rate_counters",
] as const;
const SEQUENCES: Record<string, string> = {
  login_attempts: "login_attempts_id_seq",
  audit_log: "audit_log_id_seq",
};

export class BackupError extends Error {}

async function backupKey(entry: KeyringEntry): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", entry.secret, "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("clawfleet-backup-v1"),
      info: new Uint8Array(),
    },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export async function createBackup(db: Db, keyring: KeyringEntry[]): Promise<Uint8Array> {
  const newest = keyring[0];
  if (!newest) throw new BackupError("no master key to encrypt the backup with");
  const tables: Record<string, unknown[]> = {};
  // One snapshot for every table, so the rows agree with each other.
  await db.transaction(
    async (tx) => {
      await tx.execute(sql`set local role clawfleet_system`);
      for (const table of BACKUP_TABLES) {
        const rows = rowsOf<{ row: unknown }>(
          await tx.execute(sql.raw(`select row_to_json(t) as row from ${table} t`)),
        );
        tables[table] = rows.map((r) => (typeof r.row === "string" ? JSON.parse(r.row) : r.row));
      }
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
  const payload = JSON.stringify({
    format: MAGIC,
    created_at: new Date().toISOString(),
    migrations: MIGRATIONS.map((m) => m.name),
    tables,
  });
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const aad = new TextEncoder().encode(`${MAGIC}|${newest.id}`);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aad },
      await backupKey(newest),
      Bun.gzipSync(payload),
    ),
  );
  const header = new TextEncoder().encode(`${MAGIC}\n${newest.id}\n`);
  const out = new Uint8Array(header.length + nonce.length + sealed.length);
  out.set(header, 0);
  out.set(nonce, header.length);
  out.set(sealed, header.length + nonce.length);
  return out;
}

export async function readBackup(file: Uint8Array, keyring: KeyringEntry[]) {
  const text = new TextDecoder().decode(file.subarray(0, 80));
  const [magic, kid] = text.split("\n");
  if (magic !== MAGIC || !kid) throw new BackupError("this is not a clawfleet backup");
  const entry = keyring.find((k) => k.id === kid);
  if (!entry) throw new BackupError(`the backup was made under master key "${kid}", which is not configured`);
  const offset = new TextEncoder().encode(`${MAGIC}\n${kid}\n`).length;
  const nonce = file.slice(offset, offset + 12);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce, additionalData: new TextEncoder().encode(`${MAGIC}|${kid}`) },
      await backupKey(entry),
      file.slice(offset + 12),
    );
    return JSON.parse(new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(plain)))) as {
      migrations: string[];
      tables: Record<string, unknown[]>;
    };
  } catch {
    throw new BackupError("the backup is damaged or was made under a different master key");
  }
}

export async function restoreBackup(
  db: Db,
  file: Uint8Array,
  keyring: KeyringEntry[],
): Promise<Record<string, number>> {
  const backup = await readBackup(file, keyring);
  const known = MIGRATIONS.map((m) => m.name);
  if (backup.migrations.some((m) => !known.includes(m))) {
    throw new BackupError("the backup comes from a newer clawfleet; upgrade before restoring");
  }
  const counts: Record<string, number> = {};
  await asSystem(db, async (tx) => {
    const [users] = rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from users`));
    if ((users?.n ?? 0) > 0) throw new BackupError("restore needs an empty database (this one has accounts)");
    // Plans are seeded by the migrations: replace them with the backup's.
    await tx.execute(sql`delete from plans`);
    for (const table of BACKUP_TABLES) {
      const rows = backup.tables[table] ?? [];
      counts[table] = rows.length;
      if (rows.length === 0) continue;
      await tx.execute(
        sql`insert into ${sql.raw(table)} select * from json_populate_recordset(null::${sql.raw(table)}, ${JSON.stringify(rows)}::json)`,
      );
      const sequence = SEQUENCES[table];
      if (sequence) await tx.execute(sql.raw(`select setval('${sequence}', (select max(id) from ${table}))`));
    }
  });
  return counts;
}
