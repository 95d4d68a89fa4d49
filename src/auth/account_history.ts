// What is kept about people, and for how long. Deleting an account deletes its sign-in attempts and
// pseudonymizes its audit entries (a fresh random id per deleted account replaces the user id, and the
// IP addresses go), so the log stays useful as a record of events without pointing at a person.
// Everything else is kept for the operator's retention period and then deleted.
import { inArray, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { auditLog, loginAttempts } from "../db/schema.ts";

export async function forgetAccountHistory(db: Db, userId: string, email: string): Promise<void> {
  const pseudonym = crypto.randomUUID();
  await asSystem(db, async (tx) => {
    // The sign-ins, and the throttle keys of its resets and codes (src/auth/attempt_throttle.ts).
    await tx
      .delete(loginAttempts)
      .where(inArray(loginAttempts.email, [email, `password_reset:${email}`, `totp:${userId}`]));
    await tx
      .update(auditLog)
      .set({
        userId: sql`case when ${auditLog.userId} = ${userId} then ${pseudonym}::uuid else ${auditLog.userId} end`,
        actorId: sql`case when ${auditLog.actorId} = ${userId} then ${pseudonym}::uuid else ${auditLog.actorId} end`,
        ip: sql`case when ${auditLog.userId} = ${userId} then null else ${auditLog.ip} end`,
      })
      .where(or(sql`${auditLog.userId} = ${userId}`, sql`${auditLog.actorId} = ${userId}`));
  });
}

export function pruneHistory(db: Db, retention: { auditMs: number; loginMs: number }, now = Date.now()) {
  return asSystem(db, async (tx) => {
    await tx
      .delete(auditLog)
      .where(sql`${auditLog.createdAt} < ${new Date(now - retention.auditMs).toISOString()}::timestamptz`);
    await tx
      .delete(loginAttempts)
      .where(
        sql`${loginAttempts.createdAt} < ${new Date(now - retention.loginMs).toISOString()}::timestamptz`,
      );
  });
}
