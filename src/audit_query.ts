// Reading the audit log for administrators: newest first, filtered by who (an email, matching the
// person acted on or the one acting), what (an action) and when (a day range, UTC), a page at a time.
// Pages are keyset pages on the id ("older than entry N"), so new events never shift what a page shows.
import { and, desc, eq, gte, ilike, lt, or, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "./db/client.ts";
import { asSystem } from "./db/rls.ts";
import { auditLog, users } from "./db/schema.ts";

export const AUDIT_PAGE_SIZE = 50;

export type AuditFilter = {
  /** Part of an email address, either side of the event. */
  user?: string;
  action?: string;
  /** Whole days, `YYYY-MM-DD`, inclusive, UTC. */
  from?: string;
  to?: string;
  /** Only entries older than this id (the next page). */
  before?: number;
};

export type AuditRow = typeof auditLog.$inferSelect & { userEmail: string | null; actorEmail: string | null };

export type AuditPage = { entries: AuditRow[]; olderThan: number | null };

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The filter from a query string, keeping only well-formed values (a bad one is simply ignored). */
export function auditFilterFrom(query: Record<string, string | undefined>): AuditFilter {
  const text = (value: string | undefined, max: number) => (value ?? "").trim().slice(0, max) || undefined;
  const day = (value: string | undefined) =>
    value && DAY.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) ? value : undefined;
  const before = /^\d{1,15}$/.test(query.before ?? "") ? Number(query.before) : undefined;
  return {
    user: text(query.user, 320),
    action: text(query.action, 64),
    from: day(query.from),
    to: day(query.to),
    before,
  };
}

/** `user`'s `%` and `_` are matched literally. */
function likeText(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listAuditPage(db: Db, filter: AuditFilter, size = AUDIT_PAGE_SIZE): Promise<AuditPage> {
  const actor = alias(users, "actor");
  const conditions: SQL[] = [];
  if (filter.user) {
    const pattern = likeText(filter.user);
    conditions.push(or(ilike(users.email, pattern), ilike(actor.email, pattern)) as SQL);
  }
  if (filter.action) conditions.push(eq(auditLog.action, filter.action));
  if (filter.from) conditions.push(gte(auditLog.createdAt, new Date(`${filter.from}T00:00:00Z`)));
  if (filter.to) {
    const dayAfter = new Date(Date.parse(`${filter.to}T00:00:00Z`) + 86_400_000);
    conditions.push(lt(auditLog.createdAt, dayAfter));
  }
  if (filter.before !== undefined) conditions.push(lt(auditLog.id, filter.before));
  const rows = await asSystem(db, (tx) =>
    tx
      .select({ entry: auditLog, userEmail: users.email, actorEmail: actor.email })
      .from(auditLog)
      .leftJoin(users, eq(users.id, auditLog.userId))
      .leftJoin(actor, eq(actor.id, auditLog.actorId))
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(desc(auditLog.id))
      .limit(size + 1),
  );
  const entries = rows
    .slice(0, size)
    .map((row) => ({ ...row.entry, userEmail: row.userEmail, actorEmail: row.actorEmail }));
  const more = rows.length > size;
  return { entries, olderThan: more ? (entries.at(-1)?.id ?? null) : null };
}

/** Every action the log holds, for the filter's choices. */
export async function auditActions(db: Db): Promise<string[]> {
  const rows = await asSystem(db, (tx) =>
    tx.selectDistinct({ action: auditLog.action }).from(auditLog).orderBy(auditLog.action),
  );
  return rows.map((row) => row.action);
}
