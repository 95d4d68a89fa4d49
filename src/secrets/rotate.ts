// `clawfleet keys rotate`: re-encrypts every stored key that is not under the newest master key —
// provider keys (credentials) and volume keys (volume_keys). Row by row, each in its own short
// transaction, with a conditional update (same key id and ciphertext as read), so it can run while
// the server serves, be interrupted, and be re-run.
import { and, eq, ne } from "drizzle-orm";
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

const credentialsTable: SealedTable = {
  async stale(db, newestId, limit) {
    const rows = await asSystem(db, (tx) =>
      tx.select().from(credentials).where(ne(credentials.keyId, newestId)).limit(limit),
    );
    return rows.map((r) => ({
      id: r.id,
      keyId: r.keyId,
      nonce: r.nonce,
      ciphertext: r.ciphertext,
      binding: { userId: r.userId, provider: r.provider, rowId: r.id },
    }));
  },
  async replace(db, row, next) {
    const updated = await asSystem(db, (tx) =>
      tx
        .update(credentials)
        .set({ keyId: next.keyId, nonce: next.nonce, ciphertext: next.ciphertext })
        .where(
          and(
            eq(credentials.id, row.id),
            eq(credentials.keyId, row.keyId),
            eq(credentials.ciphertext, row.ciphertext),
          ),
        )
        .returning({ id: credentials.id }),
    );
    return updated.length > 0;
  },
};

const volumeKeysTable: SealedTable = {
  async stale(db, newestId, limit) {
    const rows = await asSystem(db, (tx) =>
      tx.select().from(volumeKeys).where(ne(volumeKeys.keyId, newestId)).limit(limit),
    );
    return rows.map((r) => ({
      id: r.sessionId,
      keyId: r.keyId,
      nonce: r.nonce,
      ciphertext: r.ciphertext,
      binding: { userId: r.userId, sessionId: r.sessionId },
    }));
  },
  async replace(db, row, next) {
    const updated = await asSystem(db, (tx) =>
      tx
        .update(volumeKeys)
        .set({ keyId: next.keyId, nonce: next.nonce, ciphertext: next.ciphertext })
        .where(
          and(
            eq(volumeKeys.sessionId, row.id),
            eq(volumeKeys.keyId, row.keyId),
            eq(volumeKeys.ciphertext, row.ciphertext),
          ),
        )
        .returning({ id: volumeKeys.sessionId }),
    );
    return updated.length > 0;
  },
};

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
async function rotateTable(
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
