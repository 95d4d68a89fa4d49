// Token counts per session, day, provider and model, added up in memory and sent to the server about
// once a second. A failed send keeps the counts for the next one (bounded: past MAX_ROWS the oldest
// rows are dropped and the loss is logged), so a server restart costs no usage.
import type { Provider } from "../../common/providers.ts";
import type { TokenUsageReport } from "../api/contract.ts";
import type { KeySource } from "./server_channel.ts";

const MAX_ROWS = 50_000;

export class UsageReporter {
  private rows = new Map<string, TokenUsageReport>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private sending: Promise<void> | null = null;

  constructor(
    private readonly source: KeySource,
    private readonly log: { warn(msg: string, f?: Record<string, unknown>): void },
    intervalMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref?.();
  }

  add(sessionId: string, provider: Provider, model: string, input: number, output: number) {
    const day = new Date().toISOString().slice(0, 10);
    const id = `${sessionId}|${day}|${provider}|${model}`;
    const row = this.rows.get(id) ?? {
      sessionId,
      day,
      provider,
      model,
      inputTokens: 0,
      outputTokens: 0,
      requests: 0,
    };
    row.inputTokens += input;
    row.outputTokens += output;
    row.requests += 1;
    this.rows.set(id, row);
    if (this.rows.size > MAX_ROWS) {
      const oldest = this.rows.keys().next().value;
      if (oldest) this.rows.delete(oldest);
      this.log.warn("token usage backlog full: dropped the oldest row");
    }
  }

  /** Sends what has accumulated; resolves when the server has it (or the send failed). */
  flush(): Promise<void> {
    if (this.sending) return this.sending.then(() => this.flush());
    if (this.rows.size === 0) return Promise.resolve();
    const batch = this.rows;
    this.rows = new Map();
    this.sending = this.source
      .reportUsage([...batch.values()])
      .catch((error) => {
        this.log.warn("token usage not delivered yet; will retry", { error: (error as Error).message });
        for (const [id, row] of batch) {
          const now = this.rows.get(id);
          if (now) {
            now.inputTokens += row.inputTokens;
            now.outputTokens += row.outputTokens;
            now.requests += row.requests;
          } else this.rows.set(id, row);
        }
      })
      .finally(() => {
        this.sending = null;
      });
    return this.sending;
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
