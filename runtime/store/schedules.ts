// Schedules the assistant set for itself: a prompt to run once at a time, or on a cron expression.
// Each keeps its next due time, so the scheduler (and the agent, for a frozen container) only needs
// the earliest one.
import type { Database } from "bun:sqlite";

export type Schedule = {
  id: string;
  name: string;
  prompt: string;
  /** Set for repeating schedules; one-off schedules have null. */
  cron: string | null;
  next_run_at: number | null;
  last_run_at: number | null;
  last_status: string | null;
  conversation_id: string;
  created_at: number;
};

export const MAX_SCHEDULES = 50;

export class Schedules {
  constructor(private readonly db: Database) {}

  create(input: {
    name: string;
    prompt: string;
    cron: string | null;
    nextRunAt: number;
    conversationId: string;
  }): Schedule {
    return this.db
      .query(
        `INSERT INTO schedules (id, name, prompt, cron, next_run_at, conversation_id, created_at)
         VALUES ($id, $name, $prompt, $cron, $next, $conversation, $now) RETURNING *`,
      )
      .get({
        id: `s_${crypto.randomUUID().slice(0, 12)}`,
        name: input.name,
        prompt: input.prompt,
        cron: input.cron,
        next: input.nextRunAt,
        conversation: input.conversationId,
        now: Date.now(),
      }) as Schedule;
  }

  count(): number {
    return (this.db.query("SELECT count(*) AS n FROM schedules").get() as { n: number }).n;
  }

  list(): Schedule[] {
    return this.db
      .query("SELECT * FROM schedules ORDER BY next_run_at IS NULL, next_run_at, created_at")
      .all() as Schedule[];
  }

  get(id: string): Schedule | null {
    return (this.db.query("SELECT * FROM schedules WHERE id = $id").get({ id }) as Schedule | null) ?? null;
  }

  delete(id: string): boolean {
    return this.db.query("DELETE FROM schedules WHERE id = $id").run({ id }).changes > 0;
  }

  due(now: number): Schedule[] {
    return this.db
      .query(
        "SELECT * FROM schedules WHERE next_run_at IS NOT NULL AND next_run_at <= $now ORDER BY next_run_at",
      )
      .all({ now }) as Schedule[];
  }

  nextWake(): number | null {
    const row = this.db.query("SELECT min(next_run_at) AS next FROM schedules").get() as {
      next: number | null;
    };
    return row.next;
  }

  /** Records a run and moves the schedule on (null: a one-off that is done). */
  markRun(id: string, ranAt: number, status: string, nextRunAt: number | null): void {
    this.db
      .query(
        "UPDATE schedules SET last_run_at = $ranAt, last_status = $status, next_run_at = $next WHERE id = $id",
      )
      .run({ id, ranAt, status, next: nextRunAt });
  }
}
