// The frame headers the agent's splice follows (agent/ws_frames.ts): every length encoding, masked or
// not, split anywhere across reads; where a frame ends; the cap; and close frames in both roles.
import { describe, expect, test } from "bun:test";
import { closeFrame, FrameTracker } from "../../agent/ws_frames.ts";

function frame(length: number, masked: boolean, opcode = 0x2): Uint8Array {
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const head = new Uint8Array(2 + extended + (masked ? 4 : 0));
  head[0] = 0x80 | opcode;
  const view = new DataView(head.buffer);
  if (extended === 0) head[1] = length;
  else if (extended === 2) {
    head[1] = 126;
    view.setUint16(2, length);
  } else {
    head[1] = 127;
    view.setUint32(2, Math.floor(length / 2 ** 32));
    view.setUint32(6, length % 2 ** 32);
  }
  if (masked) head[1] = (head[1] as number) | 0x80;
  const out = new Uint8Array(head.byteLength + length);
  out.set(head);
  out.fill(0xab, head.byteLength);
  return out;
}

function joined(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

const LENGTHS = [0, 1, 125, 126, 127, 65535, 65536, 70_000];

describe("FrameTracker", () => {
  test("is between frames exactly where each frame ends, fed byte by byte, for every length encoding", () => {
    for (const masked of [false, true]) {
      const frames = LENGTHS.map((length) => frame(length, masked));
      const ends = new Set<number>();
      let offset = 0;
      for (const f of frames) {
        offset += f.byteLength;
        ends.add(offset);
      }
      const stream = joined(frames);
      const tracker = new FrameTracker(1 << 20);
      for (let i = 0; i < stream.byteLength; i++) {
        expect(tracker.advance(stream.subarray(i, i + 1))).toBe(1);
        if (tracker.atBoundary !== ends.has(i + 1)) throw new Error(`wrong boundary after byte ${i + 1}`);
      }
    }
  });

  test("stops at the end of the frame under way when asked, wherever the read split it", () => {
    const frames = [frame(300, false), frame(10, false), frame(70_000, false)];
    const stream = joined(frames);
    for (const split of [1, 2, 3, 150, 303, 304, 305]) {
      const tracker = new FrameTracker(1 << 20);
      expect(tracker.advance(stream.subarray(0, split))).toBe(split);
      // The first frame is 304 bytes: whatever was read of it, the rest of it passes and no more.
      const rest = stream.subarray(split);
      const passing = tracker.advance(rest, true);
      expect(split + (passing as number)).toBe(split <= 304 ? 304 : 316);
      expect(tracker.atBoundary).toBe(true);
      // Asked again at a boundary, nothing more passes.
      expect(tracker.advance(rest.subarray(passing as number), true)).toBe(0);
    }
  });

  test("a header declaring a payload past the cap is refused, 64-bit lengths included", () => {
    expect(new FrameTracker(4096).advance(frame(4096, false))).toBe(4096 + 4);
    expect(new FrameTracker(4096).advance(frame(4097, true))).toBe("too_large");
    const huge = frame(0, false);
    const head = Uint8Array.of(0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0);
    expect(new FrameTracker(1 << 30).advance(joined([huge, head]))).toBe("too_large");
  });

  test("close frames: unmasked as a server sends them, masked as a client must, reasons cut to 123 bytes", () => {
    const server = closeFrame(1001, "the container was frozen", "server");
    expect(Array.from(server.subarray(0, 4))).toEqual([0x88, 26, 0x03, 0xe9]);
    expect(new TextDecoder().decode(server.subarray(4))).toBe("the container was frozen");

    const client = closeFrame(4000, "é".repeat(100), "client");
    expect(client[0]).toBe(0x88);
    expect((client[1] as number) & 0x80).toBe(0x80);
    const length = (client[1] as number) & 0x7f;
    expect(length).toBeLessThanOrEqual(125);
    const key = client.subarray(2, 6);
    const payload = client.subarray(6).map((byte, i) => byte ^ (key[i % 4] as number));
    expect(payload.byteLength).toBe(length);
    expect(new DataView(payload.buffer).getUint16(0)).toBe(4000);
    expect(new TextDecoder().decode(payload.subarray(2))).toBe("é".repeat(61));
  });
});
