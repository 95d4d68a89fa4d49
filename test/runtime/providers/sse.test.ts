import { describe, expect, test } from "bun:test";
import { readSse, type SseEvent, SseLineTooLongError, SseParser } from "../../../runtime/providers/sse.ts";

function parseAll(chunks: string[]): SseEvent[] {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

const STREAM =
  ": a comment the parser skips\n" +
  "event: message_start\n" +
  'data: {"type":"message_start"}\n' +
  "\n" +
  "id: 7\r\n" +
  "data: line one\r\n" +
  "data:line two\r\n" +
  "\r\n" +
  "event: ping\r" +
  "data: {}\r" +
  "\r" +
  "data: [DONE]\n\n";

const EXPECTED: SseEvent[] = [
  { event: "message_start", data: '{"type":"message_start"}', id: null },
  { event: "message", data: "line one\nline two", id: "7" },
  { event: "ping", data: "{}", id: "7" },
  { event: "message", data: "[DONE]", id: "7" },
];

describe("SseParser", () => {
  test("parses named events, multi-line data, ids and comments with LF, CRLF and CR line ends", () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED);
  });

  test("gives the same events however the stream is split into chunks", () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      expect(parseAll([STREAM.slice(0, cut), STREAM.slice(cut)])).toEqual(EXPECTED);
    }
    expect(parseAll([...STREAM])).toEqual(EXPECTED);
  });

  test("a CR at the end of one chunk and LF at the start of the next are one line end", () => {
    expect(parseAll(["data: a\r", "\ndata: b\r", "\n\r", "\n"])).toEqual([
      { event: "message", data: "a\nb", id: null },
    ]);
  });

  test("an event without data is not dispatched, and an empty data line is kept", () => {
    expect(parseAll(["event: ping\n\n", "data\n\n", "data:\ndata:\n\n"])).toEqual([
      { event: "message", data: "", id: null },
      { event: "message", data: "\n", id: null },
    ]);
  });

  test("a line longer than any event could be is refused", () => {
    const parser = new SseParser();
    expect(() => parser.push(`data: ${"x".repeat(1024 * 1024 + 10)}`)).toThrow(SseLineTooLongError);
  });
});

describe("readSse", () => {
  test("reads events from a byte stream, even with a multi-byte character split across chunks", async () => {
    const bytes = new TextEncoder().encode("data: héllo wörld ✓\n\ndata: unterminated");
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    for await (const event of readSse(stream)) events.push(event);
    // The last event has no blank line after it, so the format says it is dropped.
    expect(events).toEqual([{ event: "message", data: "héllo wörld ✓", id: null }]);
  });
});
