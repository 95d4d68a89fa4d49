// `clawfleet keys rotate`, for the sealed TOTP secrets (src/auth/totp.ts): the same rules as for
// provider keys (src/secrets/rotate.ts) — row by row, a conditional update, safe to re-run.
import { and, eq, ne } from "drizzle-orm";
import { totpBinding } from "../auth/totp.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { totpFactors } from "../db/schema.ts";
import { reseal } from "./aead.ts";
import type { MasterKeyring } from "./master_keys.ts";
import type { RotationReport } from "./rotate.ts";

export async function rotateTotpSecrets(db: Db, keyring: MasterKeyring): Promise<RotationReport> {
  const report: RotationReport = { rotated: 0, unknownKeyIds: [], failed: 0 };
  const rows = await asSystem(db, (tx) =>
    tx.select().from(totpFactors).where(ne(totpFactors.keyId, keyring.newest.id)),
  );
  for (const row of rows) {
    const from = keyring.byId(row.keyId);
    if (!from) {
      if (!report.unknownKeyIds.includes(row.keyId)) report.unknownKeyIds.push(row.keyId);
      continue;
    }
    try {
      const next = await reseal(
        from,
        keyring.newest,
        {
          keyId: row.keyId,
          nonce: new Uint8Array(row.nonce),
          ciphertext: new Uint8Array(row.ciphertext),
        },
        totpBinding(row.userId),
      );
      const updated = await asSystem(db, (tx) =>
        tx
          .update(totpFactors)
          .set({ keyId: next.keyId, nonce: next.nonce, ciphertext: next.ciphertext })
          .where(
            and(
              eq(totpFactors.userId, row.userId),
              eq(totpFactors.keyId, row.keyId),
              eq(totpFactors.ciphertext, row.ciphertext),
            ),
          )
          .returning({ userId: totpFactors.userId }),
      );
      if (updated.length) report.rotated++;
    } catch {
      report.failed++;
    }
  }
  return report;
}
