// What the agent's WebSocket endpoints (gateway, terminal) have in common: one session object per
// client socket receiving its events, flow-control thresholds, and how a close is mirrored onto the
// other side of a relay.
import type { ServerWebSocket } from "bun";

export type Frame = string | Uint8Array<ArrayBuffer>;

/** Bun's client WebSocket, which can also stop reading (the DOM typings do not know it). */
export type ClientSocket = WebSocket & { pause(): boolean; resume(): boolean; terminate(): void };

export interface WsSession {
  /** A frame from the client (the control plane). */
  message(frame: Frame): void;
  /** The client's socket accepted what Bun had buffered for it. */
  drain(): void;
  /** The client's socket closed. */
  close(code: number, reason: string): void;
}

export type WsData = { start(ws: ServerWebSocket<WsData>): WsSession; session?: WsSession };

/** Above this many bytes waiting for a slow side, the fast side stops being read. */
export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
/** Frames already in flight when reading stopped are kept; past this the link is closed with 1009. */
export const MAX_QUEUED = 16 * 1024 * 1024;

export function frameSize(frame: Frame): number {
  return typeof frame === "string" ? Buffer.byteLength(frame) : frame.byteLength;
}

/** Codes a peer may put in a close frame (1004 is reserved; 1005, 1006, 1015 only describe what happened). */
export function sendableCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

/** Close reasons are at most 123 bytes of UTF-8. */
export function closeReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

/**
 * Closes `socket` the way its peer's socket was closed: the same code and reason when it can be
 * sent, no code when none was given (1005), and an abrupt end when the other side ended abruptly
 * (1006), so the abnormal closure is what the far end sees too.
 */
export function mirrorClose(
  socket: { close(code?: number, reason?: string): void; terminate(): void },
  code: number,
  reason: string,
) {
  if (code === 1006) socket.terminate();
  else if (code === 1005) socket.close();
  else if (sendableCloseCode(code)) socket.close(code, closeReason(reason));
  else socket.close(1011, "unexpected close");
}
