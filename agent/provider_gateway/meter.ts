// Token counts read from replies as they stream past, in every format the gateway forwards: OpenAI
// and OpenRouter (`usage.prompt_tokens/completion_tokens`, the Responses API's `input/output_tokens`),
// Anthropic (`message_start` input, cumulative `message_delta` output, cache reads and writes counted as
// input) and Google (`usageMetadata`, cumulative per chunk). Counts are cumulative in every format, so
// the meter keeps the largest value seen. Only numbers and the model name are kept: the text is
// parsed line by line and dropped at once.

export type TokenCount = { model: string | null; input: number; output: number };

const MAX_LINE = 1024 * 1024;
const MAX_JSON = 8 * 1024 * 1024;
const NEWLINE = 0x0a;
const USAGE = Buffer.from("usage");

const field = (v: unknown, key: string): unknown =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);

export class TokenMeter {
  private input = 0;
  private output = 0;
  private model: string | null;
  private readonly decoder = new TextDecoder();
  private pending = "";
  /** SSE: the bytes after the last newline seen, not yet a whole line. */
  private partial: Buffer = Buffer.alloc(0);
  private overflow = false;

  constructor(
    private readonly kind: "sse" | "json" | "other",
    requestModel: string | null,
  ) {
    this.model = requestModel;
  }

  static forContentType(contentType: string | null, requestModel: string | null): TokenMeter {
    const type = (contentType ?? "").toLowerCase();
    return new TokenMeter(
      type.includes("text/event-stream") ? "sse" : type.includes("json") ? "json" : "other",
      requestModel,
    );
  }

  feed(chunk: Uint8Array) {
    if (this.kind === "other" || this.overflow) return;
    if (this.kind === "json") {
      this.pending += this.decoder.decode(chunk, { stream: true });
      if (this.pending.length > MAX_JSON) this.giveUp();
      return;
    }
    // SSE: whole lines are decoded only when the bytes hold "usage" somewhere; a long reply's content
    // deltas pass through as bytes (a native search), never as strings, and are not copied: only the
    // unfinished last line is kept.
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = bytes.lastIndexOf(NEWLINE);
    if (end < 0) {
      this.partial = Buffer.concat([this.partial, bytes]);
    } else {
      if (this.usageBefore(bytes, end)) {
        const lines = this.partial.length
          ? Buffer.concat([this.partial, bytes.subarray(0, end)])
          : bytes.subarray(0, end);
        for (const line of lines.toString("utf8").split("\n")) this.line(line);
      }
      this.partial = Buffer.from(bytes.subarray(end + 1));
    }
    if (this.partial.length > MAX_LINE) this.giveUp();
  }

  /** Whether "usage" occurs in the kept partial line, across its join with `bytes`, or in `bytes` before `end`. */
  private usageBefore(bytes: Buffer, end: number): boolean {
    const found = bytes.indexOf(USAGE);
    if (found >= 0 && found < end) return true;
    if (!this.partial.length) return false;
    if (this.partial.includes(USAGE)) return true;
    const edge = USAGE.length - 1;
    return Buffer.concat([this.partial.subarray(-edge), bytes.subarray(0, edge)]).includes(USAGE);
  }

  private giveUp() {
    this.overflow = true;
    this.pending = "";
    this.partial = Buffer.alloc(0);
  }

  private line(raw: string) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!line.startsWith("data:")) return;
    // Only events that can carry counts are parsed (every format names them "usage…"); a long reply's
    // content deltas are skipped without a JSON.parse each.
    if (!line.includes("usage")) return;
    const data = line.slice(5).trim();
    if (!data.startsWith("{") && !data.startsWith("[")) return;
    this.parse(data);
  }

  private parse(text: string) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    for (const item of Array.isArray(value) ? value : [value]) this.observe(item);
  }

  /** One JSON object of any of the formats. */
  observe(value: unknown) {
    if (!value || typeof value !== "object") return;
    const model =
      field(value, "model") ??
      field(field(value, "message"), "model") ??
      field(field(value, "response"), "model") ??
      field(value, "modelVersion");
    if (typeof model === "string" && model) this.model = model.slice(0, 200);
    for (const usage of [
      field(value, "usage"),
      field(field(value, "message"), "usage"),
      field(field(value, "response"), "usage"),
    ]) {
      if (!usage || typeof usage !== "object") continue;
      const input =
        "prompt_tokens" in usage
          ? num(field(usage, "prompt_tokens"))
          : num(field(usage, "input_tokens")) +
            num(field(usage, "cache_creation_input_tokens")) +
            num(field(usage, "cache_read_input_tokens"));
      const output =
        "completion_tokens" in usage
          ? num(field(usage, "completion_tokens"))
          : num(field(usage, "output_tokens"));
      this.input = Math.max(this.input, input);
      this.output = Math.max(this.output, output);
    }
    const meta = field(value, "usageMetadata");
    if (meta && typeof meta === "object") {
      this.input = Math.max(this.input, num(field(meta, "promptTokenCount")));
      this.output = Math.max(
        this.output,
        num(field(meta, "candidatesTokenCount")) + num(field(meta, "thoughtsTokenCount")),
      );
    }
  }

  /** The counts so far (a stream cut short still reports what it carried). */
  finish(): TokenCount {
    if (this.kind === "json" && !this.overflow && this.pending) this.parse(this.pending);
    else if (this.kind === "sse" && this.partial.length) this.line(this.partial.toString("utf8"));
    this.pending = "";
    this.partial = Buffer.alloc(0);
    return { model: this.model, input: this.input, output: this.output };
  }
}
