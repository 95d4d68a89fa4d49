// A server-sent events parser (the WHATWG event-stream format) over a fetch body: lines end in CRLF,
// LF or CR, possibly split across chunks; `:` starts a comment; a blank line dispatches the event.
// Both provider APIs stream in this format.

export type SseEvent = { event: string; data: string; id: string | null };

export class SseLineTooLongError extends Error {
  override name = "SseLineTooLongError";
}

/** One provider event is a few KiB; a line this long means the stream is not SSE at all. */
const MAX_LINE = 1024 * 1024;

export class SseParser {
  private buffer = "";
  private pendingCr = false;
  private event = "";
  private data: string[] = [];
  private lastId: string | null = null;

  /** Feeds decoded text; returns the events completed by it. */
  push(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      // A CR ending the previous chunk already ended its line: skip the LF that pairs with it.
      if (ch === 10 && i === 0 && this.pendingCr) {
        this.pendingCr = false;
        start = 1;
        continue;
      }
      this.line(this.buffer + text.slice(start, i), events);
      this.buffer = "";
      this.pendingCr = false;
      if (ch === 13) {
        if (i + 1 === text.length) this.pendingCr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    if (start < text.length) {
      this.pendingCr = false;
      this.buffer += text.slice(start);
      if (this.buffer.length > MAX_LINE)
        throw new SseLineTooLongError(`an event-stream line exceeded ${MAX_LINE} bytes`);
    }
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") {
      if (this.data.length > 0)
        events.push({ event: this.event || "message", data: this.data.join("\n"), id: this.lastId });
      this.event = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
    // `retry` and unknown fields are ignored, as the format requires.
  }
}

/** Yields the events of an SSE body. An unterminated last event is dropped, as the format requires. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
  } finally {
    reader.releaseLock();
  }
}
