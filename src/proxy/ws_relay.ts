// Relays one browser WebSocket (Bun's server side) to one upstream WebSocket (the agent), in order,
// with bounded buffering on both sides: messages sent before the upstream opens wait in order;
// when the browser is slow (send() reports back-pressure), upstream messages queue until `drain`;
// past `maxBufferedBytes` in either queue the relay closes with 1009 rather than grow without bound.
import type { ServerWebSocket } from "bun";

export type Frame = string | Uint8Array<ArrayBuffer>;

const SENDABLE_CLOSE = (code: number) =>
  code === 1000 ||
  (code >= 1001 && code <= 1014 && code !== 1005 && code !== 1006) ||
  (code >= 3000 && code <= 4999);

export function forwardableClose(code: number | undefined): number {
  if (code === undefined) return 1011;
  if (code === 1005) return 1000;
  return SENDABLE_CLOSE(code) ? code : 1011;
}

function size(frame: Frame): number {
  return typeof frame === "string" ? frame.length * 2 : frame.byteLength;
}

export class WsRelay {
  private toUpstream: Frame[] = [];
  private toClient: Frame[] = [];
  private toClientBytes = 0;
  private toUpstreamBytes = 0;
  private closed = false;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly client: ServerWebSocket<unknown>,
    private readonly upstream: WebSocket,
    private readonly opts: { maxBufferedBytes: number; onActivity?: () => void; onClose?: () => void },
  ) {
    upstream.binaryType = "arraybuffer";
    upstream.addEventListener("open", () => this.flushUpstream());
    upstream.addEventListener("message", (event) => {
      const data = event.data;
      const frame: Frame = typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer);
      this.bytesOut += size(frame);
      this.opts.onActivity?.();
      this.sendToClient(frame);
    });
    upstream.addEventListener("close", (event) => this.finish(forwardableClose(event.code), event.reason));
    upstream.addEventListener("error", () => this.finish(1011, "upstream error"));
  }

  /** A message from the browser. */
  fromClient(frame: Frame) {
    if (this.closed) return;
    this.bytesIn += size(frame);
    this.opts.onActivity?.();
    if (this.upstream.readyState !== WebSocket.OPEN || this.toUpstream.length > 0) {
      this.toUpstream.push(frame);
      this.toUpstreamBytes += size(frame);
      if (this.toUpstreamBytes > this.opts.maxBufferedBytes) this.finish(1009, "too much buffered");
      return;
    }
    this.upstream.send(frame);
  }

  private flushUpstream() {
    while (this.toUpstream.length && this.upstream.readyState === WebSocket.OPEN) {
      const frame = this.toUpstream.shift() as Frame;
      this.toUpstreamBytes -= size(frame);
      this.upstream.send(frame);
    }
  }

  private sendToClient(frame: Frame) {
    if (this.toClient.length > 0) {
      this.toClient.push(frame);
      this.toClientBytes += size(frame);
      if (this.toClientBytes > this.opts.maxBufferedBytes) this.finish(1009, "client too slow");
      return;
    }
    const status = this.client.send(frame);
    // -1: queued by Bun under back-pressure (delivered later, in order); 0: dropped, so keep it.
    if (status === 0) {
      this.toClient.push(frame);
      this.toClientBytes += size(frame);
    }
  }

  /** The browser's socket can take more. */
  drain() {
    while (this.toClient.length) {
      const frame = this.toClient[0] as Frame;
      if (this.client.send(frame) === 0) return;
      this.toClient.shift();
      this.toClientBytes -= size(frame);
    }
  }

  /** The browser closed: pass its code on. */
  clientClosed(code: number, reason: string) {
    if (this.closed) return;
    this.closed = true;
    const forward = forwardableClose(code);
    if (this.upstream.readyState === WebSocket.OPEN || this.upstream.readyState === WebSocket.CONNECTING) {
      this.upstream.close(forward, reason.slice(0, 120));
    }
    this.opts.onClose?.();
  }

  private finish(code: number, reason: string) {
    if (this.closed) return;
    this.closed = true;
    this.drain();
    this.client.close(code, reason.slice(0, 120));
    if (this.upstream.readyState === WebSocket.OPEN) this.upstream.close(code === 1009 ? 1009 : 1000);
    this.opts.onClose?.();
  }
}
