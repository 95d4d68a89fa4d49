// "Download my data": everything the platform keeps about one account, as JSON. Key metadata only
// (provider, preview, date), never a key, and no token or code hashes: the export may be mailed around.
import { desc, eq, or } from "drizzle-orm";
import type { AppContext } from "../context.ts";
import { asSystem, asUser } from "../db/rls.ts";
import { agentSessions, auditLog, credentials, loginAttempts, signIns, totpFactors } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import { listPersonalTokens } from "./personal_tokens.ts";
import { getUser } from "./users.ts";

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

export async function exportAccount(ctx: AppContext, userId: string) {
  const db = ctx.database.db;
  const user = await getUser(db, userId);
  if (!user) throw new UserError(401, "unauthenticated", "Sign in to continue.");
  const [keys, signInRows, session, totp] = await asUser(db, userId, (tx) =>
    Promise.all([
      tx.select().from(credentials).orderBy(credentials.createdAt),
      tx.select().from(signIns).orderBy(desc(signIns.createdAt)),
      tx.select().from(agentSessions),
      tx.select({ enabledAt: totpFactors.enabledAt }).from(totpFactors),
    ]),
  );
  const [audit, attempts] = await asSystem(db, (tx) =>
    Promise.all([
      tx
        .select()
        .from(auditLog)
        .where(or(eq(auditLog.userId, userId), eq(auditLog.actorId, userId)))
        .orderBy(desc(auditLog.id)),
      tx
        .select()
        .from(loginAttempts)
        .where(eq(loginAttempts.email, user.email))
        .orderBy(desc(loginAttempts.id)),
    ]),
  );
  return {
    exported_at: new Date().toISOString(),
    account: {
      id: user.id,
      email: user.email,
      email_verified_at: iso(user.emailVerifiedAt),
      is_admin: user.isAdmin,
      plan: user.planId,
      created_at: iso(user.createdAt),
      password_changed_at: iso(user.passwordChangedAt),
      two_factor_enabled_at: iso(totp[0]?.enabledAt),
    },
    provider_keys: keys.map((k) => ({
      id: k.id,
      provider: k.provider,
      key_preview: k.keyPreview,
      created_at: iso(k.createdAt),
    })),
    container: session[0]
      ? { state: session[0].state, template: session[0].template, created_at: iso(session[0].createdAt) }
      : null,
    sign_ins: signInRows.map((s) => ({
      id: s.id,
      created_at: iso(s.createdAt),
      last_used_at: iso(s.lastUsedAt),
      revoked_at: iso(s.revokedAt),
      revoked_reason: s.revokedReason,
      user_agent: s.userAgent,
      ip: s.ip,
    })),
    sign_in_attempts: attempts.map((a) => ({ ip: a.ip, success: a.success, at: iso(a.createdAt) })),
    personal_access_tokens: await listPersonalTokens(ctx, userId),
    audit_entries: audit.map((a) => ({
      id: a.id,
      action: a.action,
      target: a.target,
      detail: a.detail,
      ip: a.ip,
      created_at: iso(a.createdAt),
    })),
  };
}
