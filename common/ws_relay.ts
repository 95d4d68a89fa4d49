// The server's WebSocket relay (browser → server → agent): a Bun server-side socket (the "client")
// joined to a client WebSocket (the "upstream"), frames in order with their type. The agent splices
// the next hop byte for byte instead (agent/splice.ts).
//
// Back-pressure is passed through instead of absorbed. When the client reads slowly, Bun's `send`
// says so and the relay stops reading the upstream until `drain`; when the upstream reads slowly (its
// `bufferedAmount` climbs past HIGH_WATER), the relay stops reading the client until it falls below
// LOW_WATER. A fast side therefore waits in its own TCP buffers, not in our memory. What was already
// in flight when reading stopped is kept, up to MAX_QUEUED bytes each way; past that the link is
// closed with 1009 rather than grow. Closes are mirrored both ways (code and reason), and a close the
// client sends while the upstream is still connecting is delivered once it opens.
import type { ServerWebSocket } from "bun";

export type Frame = string | Uint8Array<ArrayBuffer>;

/** Bun's client WebSocket, which can also stop reading (the DOM typings do not know it). */
export type ClientSocket = WebSocket & { pause(): boolean; resume(): boolean; terminate(): void };

/** What a server-side socket's handler forwards its events to (a relay, or the agent's terminal). */
export interface WsSession {
  /** A frame from the client. */
  message(frame: Frame): void;
  /** The client's socket accepted what Bun had buffered for it. */
  drain(): void;
  /** The client's socket closed. */
  close(code: number, reason: string): void;
}

/** Above this many bytes waiting for a slow side, the fast side stops being read. */
export const HIGH_WATER = 1024 * 1024;
export const LOW_WATER = 256 * 1024;
/** Frames already in flight when reading stopped are kept; past this the link is closed with 1009. */
export const MAX_QUEUED = 16 * 1024 * 1024;
/** The largest frame any hop accepts (Bun closes a socket sending more with 1009 itself). */
export const MAX_FRAME = 4 * 1024 * 1024;

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
  socket: { close(code?: number, reason?: string): void; terminate?(): void },
  code: number,
  reason: string,
) {
  if (code === 1006 && socket.terminate) socket.terminate();
  else if (code === 1005 || code === 1006) socket.close();
  else if (sendableCloseCode(code)) socket.close(code, closeReason(reason));
  else socket.close(1011, "unexpected close");
}

/**
 * A received message as a frame. A binary one is viewed, not copied: `new Uint8Array(buffer)` copied
 * every binary frame once per hop (a 1 MiB frame twice between browser and container).
 */
export function frameOf(message: string | Buffer): Frame {
  if (typeof message === "string") return message;
  return new Uint8Array(message.buffer as ArrayBuffer, message.byteOffset, message.byteLength);
}

/** The parts of a Bun WebSocket handler that hand a socket's events to the relay it carries. */
export const relayedSocketEvents = {
  message(ws: ServerWebSocket<{ relay?: WsRelay }>, message: string | Buffer) {
    ws.data.relay?.message(frameOf(message));
  },
  drain(ws: ServerWebSocket<{ relay?: WsRelay }>) {
    ws.data.relay?.drain();
  },
};

export type RelayOptions = {
  /** Called (cheaply, often) whenever a frame passes either way. */
  onActivity?: () => void;
  /** Called once when the relay is done, whichever side ended it. */
  onEnd?: (relay: WsRelay) => void;
  /** Called when the upstream closed before it ever opened (refused or unreachable). */
  onRefused?: (code: number) => void;
};

export class WsRelay implements WsSession {
  private upstream: ClientSocket | null = null;
  private opened = false;
  private done = false;
  /** Frames from the upstream in this turn of the event loop, sent to the client together. */
  private batch: Frame[] = [];
  private batchScheduled = false;
  /** Frames for the client that Bun refused (its buffer was full) while the upstream was being paused. */
  private toClient: Frame[] = [];
  private toClientBytes = 0;
  /** Frames from the client before the upstream opened. */
  private toUpstream: Frame[] = [];
  private toUpstreamBytes = 0;
  private upstreamWatch: ReturnType<typeof setInterval> | null = null;
  private upstreamClose: { code: number; reason: string } | null = null;
  private closeOnOpen: { code: number; reason: string } | null = null;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly client: ServerWebSocket<unknown>,
    private readonly opts: RelayOptions = {},
  ) {}

  /** Joins the upstream socket (connecting or open); frames the client sent meanwhile go out first. */
  attach(upstream: WebSocket) {
    const socket = upstream as ClientSocket;
    if (this.done && !this.closeOnOpen) {
      socket.close(1000);
      return;
    }
    this.upstream = socket;
    socket.binaryType = "arraybuffer";
    if (socket.readyState === WebSocket.OPEN) queueMicrotask(() => this.upstreamOpened());
    else socket.addEventListener("open", () => this.upstreamOpened());
    socket.addEventListener("message", (event) => {
      const data = event.data as string | ArrayBuffer;
      this.fromUpstream(typeof data === "string" ? data : new Uint8Array(data));
    });
    socket.addEventListener("close", (event) => this.upstreamClosed(event.code, event.reason));
  }

  /** No upstream could be made: the client is told so and the relay ends. */
  fail(reason: string) {
    if (this.done) return;
    this.end();
    this.client.close(1011, closeReason(reason));
  }

  /** Ends the link from outside (sign-out, freeze, kill, shutdown): both sides get `code`. */
  shut(code: number, reason: string) {
    if (this.done) return;
    this.end();
    this.client.close(code, closeReason(reason));
    if (this.upstream && this.upstream.readyState <= WebSocket.OPEN)
      this.upstream.close(code, closeReason(reason));
  }

  get isDone(): boolean {
    return this.done;
  }

  // Upstream → client.

  private fromUpstream(frame: Frame) {
    if (this.done) return;
    this.bytesOut += frameSize(frame);
    this.opts.onActivity?.();
    if (this.toClient.length > 0) return this.queueForClient(frame);
    // Each frame sent on its own is a system call. Bun runs microtasks after every message event, so
    // frames of one turn are gathered until setImmediate and sent corked: one write for all of them.
    this.batch.push(frame);
    if (this.batchScheduled) return;
    this.batchScheduled = true;
    setImmediate(() => this.flushBatch());
  }

  private flushBatch() {
    this.batchScheduled = false;
    const frames = this.batch;
    if (this.done || frames.length === 0) return;
    this.batch = [];
    this.client.cork(() => {
      for (const frame of frames) {
        if (this.done) return;
        if (this.toClient.length > 0) {
          this.queueForClient(frame);
          continue;
        }
        const sent = this.client.send(frame);
        // -1: accepted into Bun's buffer above its watermark; 0: refused. Either way, stop reading.
        if (sent === -1) this.upstream?.pause();
        else if (sent === 0) this.queueForClient(frame);
      }
    });
  }

  private queueForClient(frame: Frame) {
    this.toClient.push(frame);
    this.toClientBytes += frameSize(frame);
    this.upstream?.pause();
    if (this.toClientBytes > MAX_QUEUED) this.shut(1009, "the reader is too slow");
  }

  drain() {
    while (this.toClient.length > 0) {
      const frame = this.toClient[0] as Frame;
      const sent = this.client.send(frame);
      if (sent === 0) return;
      this.toClient.shift();
      this.toClientBytes -= frameSize(frame);
      if (sent === -1) return;
    }
    if (this.upstreamClose) return this.finishUpstreamClose();
    if (!this.done) this.upstream?.resume();
  }

  // Client → upstream.

  message(frame: Frame) {
    if (this.done) return;
    this.bytesIn += frameSize(frame);
    this.opts.onActivity?.();
    const upstream = this.upstream;
    if (!upstream || !this.opened || this.toUpstream.length > 0) {
      this.toUpstream.push(frame);
      this.toUpstreamBytes += frameSize(frame);
      if (this.toUpstreamBytes > HIGH_WATER) this.client.pause();
      if (this.toUpstreamBytes > MAX_QUEUED) this.shut(1009, "too much sent before the far end answered");
      return;
    }
    upstream.send(frame);
    this.watchUpstreamBuffer();
  }

  /** A client WebSocket has no drain event: while its buffer is high, poll it with the client paused. */
  private watchUpstreamBuffer() {
    const upstream = this.upstream;
    if (!upstream || this.upstreamWatch || upstream.bufferedAmount <= HIGH_WATER) return;
    this.client.pause();
    this.upstreamWatch = setInterval(() => {
      if (upstream.readyState !== WebSocket.OPEN || upstream.bufferedAmount <= LOW_WATER) {
        this.stopWatching();
        if (!this.done) this.client.resume();
      }
    }, 5);
  }

  private stopWatching() {
    if (this.upstreamWatch) clearInterval(this.upstreamWatch);
    this.upstreamWatch = null;
  }

  private upstreamOpened() {
    const upstream = this.upstream;
    if (!upstream || this.opened) return;
    this.opened = true;
    for (const frame of this.toUpstream.splice(0)) upstream.send(frame);
    this.toUpstreamBytes = 0;
    if (this.closeOnOpen) return mirrorClose(upstream, this.closeOnOpen.code, this.closeOnOpen.reason);
    if (this.done) return;
    if (this.client.isPaused && upstream.bufferedAmount <= HIGH_WATER) this.client.resume();
    this.watchUpstreamBuffer();
  }

  // Closing.

  close(code: number, reason: string) {
    if (this.done) return;
    this.end();
    const upstream = this.upstream;
    // Still connecting: what the client sent, then its close, go out once the far end answers.
    if (!upstream || upstream.readyState === WebSocket.CONNECTING) this.closeOnOpen = { code, reason };
    else if (upstream.readyState === WebSocket.OPEN) mirrorClose(upstream, code, reason);
  }

  private upstreamClosed(code: number, reason: string) {
    if (this.done) return;
    if (!this.opened) {
      this.end();
      this.opts.onRefused?.(code);
      this.client.close(1011, "the far end is unreachable");
      return;
    }
    // What the upstream sent before closing goes out first.
    this.flushBatch();
    if (this.done) return;
    this.upstreamClose = { code, reason };
    if (this.toClient.length === 0) this.finishUpstreamClose();
  }

  private finishUpstreamClose() {
    if (this.done || !this.upstreamClose) return;
    this.end();
    mirrorClose(this.client, this.upstreamClose.code, this.upstreamClose.reason);
  }

  private end() {
    this.done = true;
    this.stopWatching();
    this.batch = [];
    this.toClient = [];
    this.toClientBytes = 0;
    this.opts.onEnd?.(this);
  }
}
