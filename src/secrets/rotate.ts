// `clawfleet keys rotate`: re-encrypts every stored key that is not under the newest master key —
// provider keys (credentials) and volume keys (volume_keys). Row by row, each in its own short
// transaction, with a conditional update (same key id and ciphertext as read), so it can run while
// the server serves, be interrupted, and be re-run.
import { and, eq, ne } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { credentials, volumeKeys } from "../db/schema.ts";
import { type Binding, reseal, type Sealed } from "./aead.ts";
import type { MasterKeyring } from "./master_keys.ts";

export type RotationReport = { rotated: number; unknownKeyIds: string[]; failed: number };

type SealedRow = { id: string; keyId: string; nonce: Uint8Array; ciphertext: Uint8Array; binding: Binding };

/** One table of sealed keys, as rotation sees it. */
type SealedTable = {
  /** Up to `limit` rows not under `newestId`. */
  stale(db: Db, newestId: string, limit: number): Promise<SealedRow[]>;
  /** Writes `next` only if the row still holds what was read; true when it did. */
  replace(db: Db, row: SealedRow, next: Sealed): Promise<boolean>;
};

type SealedColumns = { keyId: AnyPgColumn; nonce: AnyPgColumn; ciphertext: AnyPgColumn };
type StoredSealed = { keyId: string; nonce: Uint8Array; ciphertext: Uint8Array };

/** A table whose rows carry `key_id`, `nonce` and `ciphertext`, identified by `idColumn`. */
export function sealedTable<T extends PgTable & SealedColumns, R extends StoredSealed>(
  table: T,
  idColumn: AnyPgColumn,
  describe: (row: R) => { id: string; binding: Binding },
): SealedTable {
  return {
    async stale(db, newestId, limit) {
      const rows = (await asSystem(db, (tx) =>
        tx
          .select()
          .from(table as PgTable)
          .where(ne(table.keyId, newestId))
          .limit(limit),
      )) as R[];
      return rows.map((r) => ({ ...describe(r), keyId: r.keyId, nonce: r.nonce, ciphertext: r.ciphertext }));
    },
    async replace(db, row, next) {
      const updated = await asSystem(db, (tx) =>
        tx
          .update(table)
          .set({ keyId: next.keyId, nonce: next.nonce, ciphertext: next.ciphertext } as never)
          .where(and(eq(idColumn, row.id), eq(table.keyId, row.keyId), eq(table.ciphertext, row.ciphertext)))
          .returning({ id: idColumn }),
      );
      return updated.length > 0;
    },
  };
}

const credentialsTable = sealedTable(credentials, credentials.id, (r: typeof credentials.$inferSelect) => ({
  id: r.id,
  binding: { userId: r.userId, provider: r.provider, rowId: r.id },
}));

const volumeKeysTable = sealedTable(
  volumeKeys,
  volumeKeys.sessionId,
  (r: typeof volumeKeys.$inferSelect) => ({
    id: r.sessionId,
    binding: { userId: r.userId, sessionId: r.sessionId },
  }),
);

/** Provider keys first, then volume keys; `limit` counts both. */
export async function rotateCredentials(
  db: Db,
  keyring: MasterKeyring,
  opts: { batch?: number; limit?: number } = {},
): Promise<RotationReport> {
  const report: RotationReport = { rotated: 0, unknownKeyIds: [], failed: 0 };
  for (const table of [credentialsTable, volumeKeysTable]) {
    if (!(await rotateTable(db, keyring, table, report, opts))) break;
  }
  return report;
}

/** False when `limit` was reached. */
export async function rotateTable(
  db: Db,
  keyring: MasterKeyring,
  table: SealedTable,
  report: RotationReport,
  opts: { batch?: number; limit?: number },
): Promise<boolean> {
  const batch = opts.batch ?? 50;
  const skipped = new Set<string>();
  for (;;) {
    const rows = (await table.stale(db, keyring.newest.id, batch + skipped.size)).filter(
      (r) => !skipped.has(r.id),
    );
    if (rows.length === 0) return true;
    for (const row of rows.slice(0, batch)) {
      if (opts.limit !== undefined && report.rotated >= opts.limit) return false;
      const from = keyring.byId(row.keyId);
      if (!from) {
        skipped.add(row.id);
        if (!report.unknownKeyIds.includes(row.keyId)) report.unknownKeyIds.push(row.keyId);
        continue;
      }
      try {
        const next = await reseal(
          from,
          keyring.newest,
          {
            keyId: row.keyId,
            nonce: row.nonce as Uint8Array<ArrayBuffer>,
            ciphertext: row.ciphertext as Uint8Array<ArrayBuffer>,
          },
          row.binding,
        );
        if (await table.replace(db, row, next)) report.rotated++;
      } catch {
        skipped.add(row.id);
        report.failed++;
      }
    }
  }
}
