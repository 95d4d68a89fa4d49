// A test client for the runtime's WebSocket gateway (protocol in docs/RUNTIME.md): it queues every
// frame, waits for the ones a test asks for (bounded in time), and runs a chat to its end.

// Bun's WebSocket takes request headers (the gateway token); the DOM typings in scope do not know it.
const BunWebSocket = WebSocket as unknown as new (
  url: string,
  options?: { headers?: Record<string, string> },
) => WebSocket;

export type Frame = Record<string, unknown> & { type: string; id?: string | null };

export type ChatOutcome = { frames: Frame[]; deltas: string[]; done: Frame | null; error: Frame | null };

export class GatewayClient {
  private readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  private closedWith: { code: number; reason: string } | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      this.frames.push(JSON.parse(String(event.data)) as Frame);
      this.wake();
    });
    socket.addEventListener("close", (event) => {
      this.closedWith = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  static async connect(url: string, token?: string, timeoutMs = 10_000): Promise<GatewayClient> {
    const socket = new BunWebSocket(
      url,
      token ? { headers: { authorization: `Bearer ${token}` } } : undefined,
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`gateway ${url}: no connection in ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`gateway ${url}: connection failed`));
      });
    });
    return new GatewayClient(socket);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  send(message: Record<string, unknown> | string): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Removes and returns the first frame matching `predicate`, waiting up to `timeoutMs`. */
  async next(predicate: (frame: Frame) => boolean = () => true, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.frames.findIndex(predicate);
      if (index >= 0) return this.frames.splice(index, 1)[0] as Frame;
      if (this.closedWith)
        throw new Error(`gateway closed (${this.closedWith.code}) while waiting for a frame`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching gateway frame in ${timeoutMs} ms; queued: ${JSON.stringify(this.frames)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a message with a fresh id and returns the first answer carrying that id. */
  async request(message: Record<string, unknown>, timeoutMs?: number): Promise<Frame> {
    const id = `r-${crypto.randomUUID().slice(0, 8)}`;
    this.send({ ...message, id });
    return this.next((frame) => frame.id === id, timeoutMs);
  }

  /** Sends a chat and collects its frames until chat.done or chat.error. */
  async chat(message: Record<string, unknown>, timeoutMs = 20_000): Promise<ChatOutcome> {
    const id = (message.id as string | undefined) ?? `c-${crypto.randomUUID().slice(0, 8)}`;
    this.send({ type: "chat", ...message, id });
    const outcome: ChatOutcome = { frames: [], deltas: [], done: null, error: null };
    while (true) {
      const frame = await this.next((f) => f.id === id, timeoutMs);
      outcome.frames.push(frame);
      if (frame.type === "chat.delta") outcome.deltas.push(String(frame.text));
      if (frame.type === "chat.done") outcome.done = frame;
      if (frame.type === "chat.error" || frame.type === "error") outcome.error = frame;
      if (outcome.done || outcome.error) return outcome;
    }
  }

  close(): void {
    this.socket.close();
  }
}
