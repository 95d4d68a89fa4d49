// Bounds expensive work (argon2) so a login flood queues instead of exhausting memory or the thread
// pool: at most `concurrency` jobs run, at most `maxQueued` wait, the rest are refused at once.
export class QueueFullError extends Error {
  override name = "QueueFullError";
}

export class WorkQueue {
  private running = 0;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxQueued: number,
  ) {}

  get load() {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueued) throw new QueueFullError("too much work queued");
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
