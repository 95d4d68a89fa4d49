// Token usage as the provider gateways report it: counts per user, day, provider and model, never
// content. Reports name a session; the user is looked up here, so a node cannot charge a user it does
// not host a session for. Reads go through RLS (a user sees only their own rows).
import { and, eq, gte, sql } from "drizzle-orm";
import type { TokenUsageReport } from "../../agent/api/contract.ts";
import type { Provider } from "../../common/providers.ts";
import type { Db } from "../db/client.ts";
import { rowsOf } from "../db/client.ts";
import { asSystem, asUser } from "../db/rls.ts";
import { agentSessions, tokenUsage } from "../db/schema.ts";

export type TokenTotals = { input_tokens: number; output_tokens: number; requests: number };
export type ModelUsage = TokenTotals & { provider: Provider; model: string };

const day = (d: Date) => d.toISOString().slice(0, 10);
export const monthStart = (now = new Date()) => `${day(now).slice(0, 7)}-01`;

/** Adds a batch of reports; reports for sessions that do not exist are ignored (a killed session). */
export async function recordTokenUsage(
  db: Db,
  reports: TokenUsageReport[],
  /** Set: count only sessions placed on this node (the node reported in its own name). */
  onlyNodeId?: string,
): Promise<number> {
  if (reports.length === 0) return 0;
  return asSystem(db, async (tx) => {
    const ids = [...new Set(reports.map((r) => r.sessionId))];
    const owners = new Map<string, string>();
    for (const id of ids) {
      const [row] = await tx
        .select({ userId: agentSessions.userId, nodeId: agentSessions.nodeId })
        .from(agentSessions)
        .where(eq(agentSessions.id, id));
      if (row && (onlyNodeId === undefined || row.nodeId === onlyNodeId)) owners.set(id, row.userId);
    }
    let recorded = 0;
    for (const r of reports) {
      const userId = owners.get(r.sessionId);
      if (!userId) continue;
      await tx
        .insert(tokenUsage)
        .values({
          userId,
          day: r.day,
          provider: r.provider,
          model: r.model || "unknown",
          inputTokens: r.inputTokens,
          outputTokens: r.outputTokens,
          requests: r.requests,
        })
        .onConflictDoUpdate({
          target: [tokenUsage.userId, tokenUsage.day, tokenUsage.provider, tokenUsage.model],
          set: {
            inputTokens: sql`${tokenUsage.inputTokens} + excluded.input_tokens`,
            outputTokens: sql`${tokenUsage.outputTokens} + excluded.output_tokens`,
            requests: sql`${tokenUsage.requests} + excluded.requests`,
          },
        });
      recorded++;
    }
    return recorded;
  });
}

/** Input plus output tokens this calendar month (UTC), for the plan's budget. */
export async function tokensThisMonth(db: Db, userId: string, now = new Date()): Promise<number> {
  const rows = await asSystem(db, (tx) =>
    tx.execute(sql`select coalesce(sum(input_tokens + output_tokens), 0)::bigint as n from token_usage
      where user_id = ${userId} and day >= ${monthStart(now)}`),
  );
  return Number(rowsOf<{ n: string | number }>(rows)[0]?.n ?? 0);
}

function byModel(rows: (typeof tokenUsage.$inferSelect)[]): ModelUsage[] {
  const out = new Map<string, ModelUsage>();
  for (const r of rows) {
    const id = `${r.provider}|${r.model}`;
    const m = out.get(id) ?? {
      provider: r.provider,
      model: r.model,
      input_tokens: 0,
      output_tokens: 0,
      requests: 0,
    };
    m.input_tokens += r.inputTokens;
    m.output_tokens += r.outputTokens;
    m.requests += r.requests;
    out.set(id, m);
  }
  return [...out.values()].sort(
    (a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model),
  );
}

function sum(models: ModelUsage[]): TokenTotals {
  return models.reduce(
    (t, m) => ({
      input_tokens: t.input_tokens + m.input_tokens,
      output_tokens: t.output_tokens + m.output_tokens,
      requests: t.requests + m.requests,
    }),
    { input_tokens: 0, output_tokens: 0, requests: 0 },
  );
}

/** Today's and this month's tokens with the plan's budget: what GET /usage and the dashboard show. */
export async function tokenUsageView(db: Db, userId: string, budget: number | null, now = new Date()) {
  const summary = await tokenSummary(db, userId, now);
  const used = summary.month.input_tokens + summary.month.output_tokens;
  return {
    ...summary,
    monthly_budget: budget,
    budget_remaining: budget === null ? null : Math.max(0, budget - used),
  };
}

/** Today's and this month's tokens, in total and per provider and model. */
export async function tokenSummary(db: Db, userId: string, now = new Date()) {
  const rows = await asUser(db, userId, (tx) =>
    tx
      .select()
      .from(tokenUsage)
      .where(gte(tokenUsage.day, monthStart(now))),
  );
  const today = byModel(rows.filter((r) => r.day === day(now)));
  const month = byModel(rows);
  return {
    today: { ...sum(today), by_model: today },
    month: { ...sum(month), by_model: month },
  };
}

export type TokenSummary = Awaited<ReturnType<typeof tokenSummary>>;
export type TokenHistoryDay = Awaited<ReturnType<typeof tokenHistory>>[number];

export const MAX_HISTORY_DAYS = 366;

/** One entry per day for the last `days` days (today included, oldest first), zeros where unused. */
export async function tokenHistory(db: Db, userId: string, days: number, now = new Date()) {
  const first = new Date(now.getTime() - (days - 1) * 86_400_000);
  const rows = await asUser(db, userId, (tx) =>
    tx
      .select()
      .from(tokenUsage)
      .where(and(gte(tokenUsage.day, day(first)))),
  );
  const out: (TokenTotals & { day: string; by_provider: Record<string, TokenTotals> })[] = [];
  for (let i = 0; i < days; i++) {
    const d = day(new Date(first.getTime() + i * 86_400_000));
    const models = byModel(rows.filter((r) => r.day === d));
    const byProvider: Record<string, TokenTotals> = {};
    for (const m of models) {
      const p = byProvider[m.provider] ?? { input_tokens: 0, output_tokens: 0, requests: 0 };
      p.input_tokens += m.input_tokens;
      p.output_tokens += m.output_tokens;
      p.requests += m.requests;
      byProvider[m.provider] = p;
    }
    out.push({ day: d, ...sum(models), by_provider: byProvider });
  }
  return out;
}
