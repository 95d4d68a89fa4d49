// What the agent's byte splice (splice.ts) needs to know of the WebSocket frames it passes through
// without decoding them: where each frame ends (so a close of its own goes in between two frames),
// how large a frame says it is (so a container cannot send the server a frame past the cap), and how
// to write a close frame in either role.
import { closeReason } from "../common/ws_relay.ts";

/** Follows a stream of WebSocket frames by their headers alone: payloads are counted, never read. */
export class FrameTracker {
  private readonly head = new Uint8Array(14);
  private headLength = 0;
  private headNeeded = 2;
  private payloadLeft = 0;

  constructor(private readonly maxPayload: number) {}

  /** True between two frames: a frame of our own may be written now. */
  get atBoundary(): boolean {
    return this.headLength === 0 && this.payloadLeft === 0;
  }

  /**
   * Walks `chunk` and returns how many of its bytes may pass: all of them, or with `stopAtFrameEnd`
   * only those up to the end of the frame under way. "too_large" when a frame's header declares a
   * payload past the cap.
   */
  advance(chunk: Uint8Array, stopAtFrameEnd = false): number | "too_large" {
    let at = 0;
    while (at < chunk.byteLength) {
      if (stopAtFrameEnd && this.atBoundary) return at;
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.byteLength - at);
        this.payloadLeft -= take;
        at += take;
        continue;
      }
      this.head[this.headLength++] = chunk[at++] as number;
      if (this.headLength === 2) this.headNeeded = headerLength(this.head);
      if (this.headLength < this.headNeeded) continue;
      const length = payloadLength(this.head);
      if (length > this.maxPayload) return "too_large";
      this.headLength = 0;
      this.headNeeded = 2;
      this.payloadLeft = length;
    }
    return at;
  }
}

function headerLength(head: Uint8Array): number {
  const short = (head[1] as number) & 0x7f;
  const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
  const masked = ((head[1] as number) & 0x80) !== 0;
  return 2 + extended + (masked ? 4 : 0);
}

function payloadLength(head: Uint8Array): number {
  const short = (head[1] as number) & 0x7f;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (short === 126) return view.getUint16(2);
  if (short === 127) return view.getUint32(2) * 2 ** 32 + view.getUint32(6);
  return short;
}

/**
 * A close frame with `code` and `reason`: unmasked as a server sends it, or masked with a random key
 * as a client must (RFC 6455 5.3).
 */
export function closeFrame(code: number, reason: string, role: "server" | "client"): Uint8Array {
  const text = new TextEncoder().encode(closeReason(reason));
  const payload = new Uint8Array(2 + text.byteLength);
  new DataView(payload.buffer).setUint16(0, code);
  payload.set(text, 2);
  if (role === "server") return Uint8Array.of(0x88, payload.byteLength, ...payload);
  const key = crypto.getRandomValues(new Uint8Array(4));
  const masked = payload.map((byte, i) => byte ^ (key[i % 4] as number));
  return Uint8Array.of(0x88, 0x80 | payload.byteLength, ...key, ...masked);
}
