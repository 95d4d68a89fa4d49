// `clawfleet keys rotate`: re-encrypts every stored key that is not under the newest master key.
// Row by row, each in its own short transaction, with a conditional update (same key id and
// ciphertext as read), so it can run while the server serves, be interrupted, and be re-run.
import { and, eq, ne } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { credentials } from "../db/schema.ts";
import { reseal } from "./aead.ts";
import type { MasterKeyring } from "./master_keys.ts";

export type RotationReport = { rotated: number; unknownKeyIds: string[]; failed: number };

export async function rotateCredentials(
  db: Db,
  keyring: MasterKeyring,
  opts: { batch?: number; limit?: number } = {},
): Promise<RotationReport> {
  const batch = opts.batch ?? 50;
  const report: RotationReport = { rotated: 0, unknownKeyIds: [], failed: 0 };
  const skipped = new Set<string>();
  for (;;) {
    const rows = (
      await asSystem(db, (tx) =>
        tx
          .select()
          .from(credentials)
          .where(ne(credentials.keyId, keyring.newest.id))
          .limit(batch + skipped.size),
      )
    ).filter((r) => !skipped.has(r.id));
    if (rows.length === 0) break;
    for (const row of rows.slice(0, batch)) {
      if (opts.limit !== undefined && report.rotated >= opts.limit) return report;
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
          { userId: row.userId, provider: row.provider, rowId: row.id },
        );
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
        if (updated.length) report.rotated++;
      } catch {
        skipped.add(row.id);
        report.failed++;
      }
    }
  }
  return report;
}
