// The schedule tools: create, list and delete the assistant's own schedules. A one-off takes an ISO
// time in the future (at most a year ahead); a repeating one a cron expression (UTC).
import { CronError, nextCronTime, parseCron } from "../schedules/cron.ts";
import { MAX_SCHEDULES, type Schedule, type Schedules } from "../store/schedules.ts";
import type { ToolOutcome } from "./toolbox.ts";

const YEAR_MS = 366 * 24 * 3600 * 1000;

export class ScheduleTools {
  constructor(
    private readonly schedules: Schedules,
    /** Called after any change, so the scheduler re-arms its timer. */
    private readonly changed: () => void,
  ) {}

  run(name: string, input: Record<string, unknown>, conversationId: string): ToolOutcome {
    switch (name) {
      case "schedule_create":
        return this.create(input, conversationId);
      case "schedule_list": {
        const lines = this.schedules.list().map(describe);
        return { output: lines.join("\n") || "no schedules", status: "ok" };
      }
      default: {
        const id = input.id;
        if (typeof id !== "string" || !this.schedules.delete(id)) {
          return { output: "error: no schedule has that id", status: "error" };
        }
        this.changed();
        return { output: `deleted ${id}`, status: "ok" };
      }
    }
  }

  private create(input: Record<string, unknown>, conversationId: string): ToolOutcome {
    const fail = (message: string): ToolOutcome => ({ output: `error: ${message}`, status: "error" });
    const { prompt, at, cron } = input;
    const name = typeof input.name === "string" && input.name.trim() ? input.name.trim().slice(0, 80) : null;
    if (typeof prompt !== "string" || prompt.trim() === "" || prompt.length > 4000) {
      return fail("prompt must be a non-empty string of at most 4000 characters");
    }
    if ((at === undefined) === (cron === undefined)) return fail("give exactly one of `at` or `cron`");
    if (this.schedules.count() >= MAX_SCHEDULES)
      return fail(`at most ${MAX_SCHEDULES} schedules; delete one first`);
    const now = Date.now();
    let next: number | null;
    if (at !== undefined) {
      next = typeof at === "string" ? Date.parse(at) : Number.NaN;
      if (!Number.isFinite(next)) return fail("at must be an ISO 8601 date-time, e.g. 2026-12-02T07:00:00Z");
      if (next <= now) return fail("at is in the past");
      if (next - now > YEAR_MS) return fail("at is more than a year ahead");
    } else {
      if (typeof cron !== "string") return fail("cron must be a string");
      try {
        next = nextCronTime(parseCron(cron), now);
      } catch (error) {
        if (error instanceof CronError) return fail(`cron: ${error.message}`);
        throw error;
      }
      if (next === null) return fail("cron never fires");
    }
    const schedule = this.schedules.create({
      name: name ?? prompt.trim().slice(0, 40),
      prompt,
      cron: typeof cron === "string" ? cron.trim() : null,
      nextRunAt: next,
      conversationId,
    });
    this.changed();
    return { output: `created ${describe(schedule)}`, status: "ok" };
  }
}

function describe(s: Schedule): string {
  const when = s.next_run_at === null ? "done" : new Date(s.next_run_at).toISOString();
  return `${s.id} "${s.name}" ${s.cron ? `cron "${s.cron}"` : "once"}, next ${when}`;
}
