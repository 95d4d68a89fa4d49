// A spawn's statuses as the console shows them (creating, starting, waiting) with how long each took
// on this node. The server only sees them by polling, a quarter second apart; the spawn's answer
// carries these measured durations instead (ContainerInfo.spawnSteps), so a step shorter than a poll
// still gets its own figure. Used like a Map of the current status, which is all the rest needs.
import type { ContainerStatus, SpawnStepTiming } from "./api/contract.ts";

type Clock = {
  began: number;
  current: { status: SpawnStepTiming["status"]; since: number } | null;
  done: SpawnStepTiming[];
};

export class SpawnClock {
  private readonly clocks = new Map<string, Clock>();
  /** The status shown while a spawn runs; cleared before the spawn answers. */
  private readonly status = new Map<string, ContainerStatus>();

  /** A spawn for `sessionId` begins: its first step counts from now (the checks before it belong to it). */
  begin(sessionId: string): void {
    this.clocks.set(sessionId, { began: performance.now(), current: null, done: [] });
  }

  get(sessionId: string): ContainerStatus | undefined {
    return this.status.get(sessionId);
  }

  set(sessionId: string, status: ContainerStatus): this {
    this.status.set(sessionId, status);
    const clock = this.clocks.get(sessionId);
    if (clock && (status === "creating" || status === "starting" || status === "waiting")) {
      const now = performance.now();
      if (clock.current) clock.done.push({ status: clock.current.status, ms: lap(clock.current.since, now) });
      clock.current = { status, since: clock.current ? now : clock.began };
    }
    return this;
  }

  delete(sessionId: string): boolean {
    return this.status.delete(sessionId);
  }

  /** The finished spawn's steps, the last ending now; empty when it only thawed what already ran. */
  take(sessionId: string): SpawnStepTiming[] {
    const clock = this.clocks.get(sessionId);
    this.clocks.delete(sessionId);
    if (!clock?.current) return [];
    return [...clock.done, { status: clock.current.status, ms: lap(clock.current.since, performance.now()) }];
  }

  /** A spawn that failed keeps no timings. */
  drop(sessionId: string): void {
    this.clocks.delete(sessionId);
  }
}

const lap = (from: number, to: number) => Math.max(0, Math.round(to - from));
