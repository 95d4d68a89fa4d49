// `clawfleet keys rotate`, for the sealed TOTP secrets (src/auth/totp.ts): the same rules as for
// provider keys (src/secrets/rotate.ts) — row by row, a conditional update, safe to re-run.
import { totpBinding } from "../auth/totp.ts";
import type { Db } from "../db/client.ts";
import { totpFactors } from "../db/schema.ts";
import type { MasterKeyring } from "./master_keys.ts";
import { type RotationReport, rotateTable, sealedTable } from "./rotate.ts";

const totpTable = sealedTable(totpFactors, totpFactors.userId, (r: typeof totpFactors.$inferSelect) => ({
  id: r.userId,
  binding: totpBinding(r.userId),
}));

export async function rotateTotpSecrets(db: Db, keyring: MasterKeyring): Promise<RotationReport> {
  const report: RotationReport = { rotated: 0, unknownKeyIds: [], failed: 0 };
  await rotateTable(db, keyring, totpTable, report, {});
  return report;
}
