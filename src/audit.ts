// The audit log: every lifecycle and admin action, who did it, from where. Never secrets.
import type { Db } from "./db/client.ts";
import { asSystem } from "./db/rls.ts";
import { auditLog } from "./db/schema.ts";

export type AuditEntry = {
  action: string;
  userId?: string | null;
  actorId?: string | null;
  target?: string | null;
  detail?: Record<string, unknown>;
  ip?: string | null;
};

/** Who asked for a change, for the audit entry the service writes: the user or admin, from where. */
export type Actor = { userId?: string | null; ip?: string | null; via?: "api" | "console" | "cli" };

export function audit(db: Db, entry: AuditEntry) {
  return asSystem(db, (tx) =>
    tx.insert(auditLog).values({
      action: entry.action,
      userId: entry.userId ?? null,
      actorId: entry.actorId ?? entry.userId ?? null,
      target: entry.target ?? null,
      detail: entry.detail ?? null,
      ip: entry.ip ?? null,
    }),
  );
}
