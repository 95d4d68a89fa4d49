// WS /v1/containers/:id/gateway: relays the control plane's socket to the container's gateway on its
// 127.0.0.1-published port, adding the per-container gateway token. Frames keep their order and type.
// Back-pressure is passed through instead of absorbed: when the control plane reads slowly, the agent
// stops reading from the container (and vice versa), so a fast side waits in its own TCP buffers
// rather than in the agent's memory. Closes are mirrored both ways (code and reason).
import type { ServerWebSocket } from "bun";
import type { Logger } from "../common/log.ts";
import {
  type ClientSocket,
  type Frame,
  frameSize,
  HIGH_WATER,
  LOW_WATER,
  MAX_QUEUED,
  mirrorClose,
  type WsSession,
} from "./ws_session.ts";

export type GatewayTarget = { url: string; token: string };

export class GatewayRelay implements WsSession {
  private readonly upstream: ClientSocket;
  private opened = false;
  private done = false;
  /** Frames for the client that Bun refused (its buffer was full) while the upstream was being paused. */
  private toClient: Frame[] = [];
  private toClientBytes = 0;
  /** Frames from the client before the upstream opened. */
  private toUpstream: Frame[] = [];
  private toUpstreamBytes = 0;
  private upstreamWatch: ReturnType<typeof setInterval> | null = null;
  private upstreamClose: { code: number; reason: string } | null = null;
  private closeOnOpen: { code: number; reason: string } | null = null;

  constructor(
    private readonly client: ServerWebSocket<unknown>,
    target: GatewayTarget,
    private readonly log: Logger,
  ) {
    this.upstream = new WebSocket(target.url, {
      headers: { authorization: `Bearer ${target.token}` },
    } as unknown as string[]) as ClientSocket;
    this.upstream.binaryType = "arraybuffer";
    this.upstream.addEventListener("open", () => this.upstreamOpened());
    this.upstream.addEventListener("message", (event) => {
      const data = event.data as string | ArrayBuffer;
      this.fromUpstream(typeof data === "string" ? data : new Uint8Array(data));
    });
    this.upstream.addEventListener("close", (event) => this.upstreamClosed(event.code, event.reason));
  }

  // Container → control plane.

  private fromUpstream(frame: Frame) {
    if (this.done) return;
    if (this.toClient.length > 0) return this.queueForClient(frame);
    const sent = this.client.send(frame);
    // -1: accepted into Bun's buffer above its watermark; 0: refused. Either way, stop reading.
    if (sent === -1) this.upstream.pause();
    else if (sent === 0) this.queueForClient(frame);
  }

  private queueForClient(frame: Frame) {
    this.toClient.push(frame);
    this.toClientBytes += frameSize(frame);
    this.upstream.pause();
    if (this.toClientBytes > MAX_QUEUED) this.abort(1009, "the control plane reads too slowly");
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
    if (!this.done) this.upstream.resume();
  }

  // Control plane → container.

  message(frame: Frame) {
    if (this.done) return;
    if (!this.opened || this.toUpstream.length > 0) {
      this.toUpstream.push(frame);
      this.toUpstreamBytes += frameSize(frame);
      if (this.toUpstreamBytes > HIGH_WATER) this.client.pause();
      if (this.toUpstreamBytes > MAX_QUEUED) this.abort(1009, "too much sent before the gateway answered");
      return;
    }
    this.upstream.send(frame);
    this.watchUpstreamBuffer();
  }

  /** A WebSocket client has no drain event: while its buffer is high, poll it with the client paused. */
  private watchUpstreamBuffer() {
    if (this.upstreamWatch || this.upstream.bufferedAmount <= HIGH_WATER) return;
    this.client.pause();
    this.upstreamWatch = setInterval(() => {
      if (this.upstream.readyState !== WebSocket.OPEN || this.upstream.bufferedAmount <= LOW_WATER) {
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
    this.opened = true;
    for (const frame of this.toUpstream.splice(0)) this.upstream.send(frame);
    this.toUpstreamBytes = 0;
    if (this.closeOnOpen) return mirrorClose(this.upstream, this.closeOnOpen.code, this.closeOnOpen.reason);
    if (this.client.isPaused && this.upstream.bufferedAmount <= HIGH_WATER) this.client.resume();
    this.watchUpstreamBuffer();
  }

  // Closing.

  close(code: number, reason: string) {
    if (this.done) return;
    this.done = true;
    this.stopWatching();
    // Still connecting: what the client sent, then its close, go out once the gateway answers.
    if (this.upstream.readyState === WebSocket.CONNECTING) this.closeOnOpen = { code, reason };
    else if (this.upstream.readyState === WebSocket.OPEN) mirrorClose(this.upstream, code, reason);
  }

  private upstreamClosed(code: number, reason: string) {
    if (this.done) return;
    if (!this.opened) {
      this.done = true;
      this.log.warn("the container's gateway refused the connection", { code });
      this.client.close(1011, "the container's gateway is unreachable");
      return;
    }
    // What the container sent before closing goes out first.
    this.upstreamClose = { code, reason };
    if (this.toClient.length === 0) this.finishUpstreamClose();
  }

  private finishUpstreamClose() {
    if (this.done || !this.upstreamClose) return;
    this.done = true;
    this.stopWatching();
    mirrorClose(this.client, this.upstreamClose.code, this.upstreamClose.reason);
  }

  private abort(code: number, reason: string) {
    if (this.done) return;
    this.done = true;
    this.stopWatching();
    this.client.close(code, reason);
    if (this.upstream.readyState <= WebSocket.OPEN) this.upstream.close(code, reason);
  }
}
