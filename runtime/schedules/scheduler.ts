// Fires due schedules: each runs its prompt as a chat turn in a conversation of its own
// (`schedule:<id>`), and the answer is announced to every connected console. The timer is re-armed
// after every change and every run; it never sleeps more than a minute, so a clock that jumped (a
// container thawed after a freeze) is noticed soon.
import type { Logger } from "../../common/log.ts";
import type { ChatService } from "../chat.ts";
import { ProviderError } from "../providers/errors.ts";
import type { Schedule, Schedules } from "../store/schedules.ts";
import { nextCronTime, parseCron } from "./cron.ts";

export type ScheduleFired = {
  schedule_id: string;
  name: string;
  conversation_id: string;
  ok: boolean;
  text: string;
};

const MAX_SLEEP_MS = 60_000;

export class Scheduler {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = 0;
  private stopped = false;
  private readonly controller = new AbortController();
  private readonly listeners = new Set<(event: ScheduleFired) => void>();

  constructor(
    private readonly schedules: Schedules,
    private readonly chat: ChatService,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.controller.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  onFired(listener: (event: ScheduleFired) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** When the next schedule is due (Unix ms), for the agent to wake a frozen container. */
  nextWake(): number | null {
    return this.schedules.nextWake();
  }

  /** True while a schedule's turn runs: the container should not be frozen under it. */
  busy(): boolean {
    return this.running > 0;
  }

  arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const next = this.schedules.nextWake();
    const delay = next === null ? MAX_SLEEP_MS : Math.max(0, Math.min(next - Date.now(), MAX_SLEEP_MS));
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    this.timer = null;
    for (const schedule of this.schedules.due(Date.now())) {
      if (this.stopped) return;
      await this.fire(schedule);
    }
    this.arm();
  }

  private async fire(schedule: Schedule): Promise<void> {
    const now = Date.now();
    // Move it on first: a crash in the middle must not fire it again and again.
    const next = schedule.cron ? nextCronTime(parseCron(schedule.cron), now) : null;
    this.schedules.markRun(schedule.id, now, "running", next);
    this.running++;
    let event: ScheduleFired;
    try {
      const result = await this.chat.run({
        conversationId: `schedule:${schedule.id}`,
        channel: "schedule",
        text: schedule.prompt,
        signal: this.controller.signal,
      });
      event = {
        schedule_id: schedule.id,
        name: schedule.name,
        conversation_id: result.conversationId,
        ok: true,
        text: result.text,
      };
      this.schedules.markRun(schedule.id, now, "ok", next);
    } catch (error) {
      if (!(error instanceof ProviderError))
        this.log.error("schedule failed", { schedule: schedule.id, error });
      const message = error instanceof ProviderError ? error.message : "the runtime failed to run it";
      event = {
        schedule_id: schedule.id,
        name: schedule.name,
        conversation_id: `schedule:${schedule.id}`,
        ok: false,
        text: message,
      };
      this.schedules.markRun(schedule.id, now, "error", next);
    } finally {
      this.running--;
    }
    this.log.info("schedule fired", { schedule: schedule.id, ok: event.ok });
    for (const listener of this.listeners) listener(event);
  }
}
