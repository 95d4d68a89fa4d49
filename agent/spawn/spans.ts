// Timing spans of one spawn, for the profile bench (bench/profile_spawn.ts) and the debug log. Steps
// run side by side, so each span keeps its own start and end relative to the spawn's start.
export type Span = { name: string; startMs: number; endMs: number };

export class SpawnSpans {
  private readonly origin = performance.now();
  readonly spans: Span[] = [];

  /** Times `work` under `name`; a failed step is recorded too (its end is when it failed). */
  async time<T>(name: string, work: () => Promise<T> | T): Promise<T> {
    const startMs = performance.now() - this.origin;
    try {
      return await work();
    } finally {
      this.spans.push({ name, startMs, endMs: performance.now() - this.origin });
    }
  }

  totalMs(): number {
    return performance.now() - this.origin;
  }
}

/** A recorder that records nothing, for callers that do not profile. */
export const NO_SPANS: Pick<SpawnSpans, "time"> = { time: async (_name, work) => work() };
