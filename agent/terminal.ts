// WS /v1/containers/:id/terminal: a socket showing one of the container's shells (terminal_shell.ts:
// `docker exec` of the template's shell with a TTY, which outlives the socket for a reattach).
// Binary or text frames are keystrokes; a text frame holding {"type":"resize","cols":N,"rows":N}
// resizes the TTY. Output goes out as binary frames, with the
// same back-pressure as the gateway: a slow reader pauses the shell's stream, a slow shell pauses
// the socket.
import type { ServerWebSocket } from "bun";
import type { Logger } from "../common/log.ts";
import { type Frame, frameSize, HIGH_WATER, MAX_QUEUED, type WsSession } from "../common/ws_relay.ts";
import type { Shell, ShellViewer } from "./terminal_shell.ts";

/** A resize control message, or null when the frame is input that merely looks like JSON. */
export function parseResize(frame: string): { cols: number; rows: number } | null {
  if (!frame.startsWith("{")) return null;
  try {
    const message = JSON.parse(frame) as { type?: unknown; cols?: unknown; rows?: unknown };
    if (message.type !== "resize") return null;
    const cols = Number(message.cols);
    const rows = Number(message.rows);
    if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1) return null;
    return { cols: Math.min(cols, 1000), rows: Math.min(rows, 1000) };
  } catch {
    return null;
  }
}

export class TerminalSession implements WsSession, ShellViewer {
  private shell: Shell | null = null;
  private closed = false;
  private shellGone = false;
  private early: Frame[] = [];
  private earlyBytes = 0;
  private toClient: Uint8Array[] = [];
  private toClientBytes = 0;
  /** Called once when the terminal ends, however it ends. */
  onEnd: () => void = () => {};

  constructor(
    private readonly ws: ServerWebSocket<unknown>,
    shell: Promise<Shell>,
    private readonly log: Logger,
  ) {
    void this.start(shell);
  }

  private async start(opening: Promise<Shell>) {
    try {
      const shell = await opening;
      if (this.closed) return;
      this.shell = shell;
      for (const data of shell.attach(this, () => this.ws.resume())) this.output(data);
      if (shell.ended) return this.exited();
      for (const frame of this.early.splice(0)) this.input(frame);
      if (this.ws.isPaused) this.ws.resume();
    } catch (error) {
      this.log.warn("terminal failed to start", { error });
      this.shut(1011, "the terminal failed to start");
    }
  }

  message(frame: Frame) {
    if (this.closed) return;
    if (!this.shell) {
      this.early.push(frame);
      this.earlyBytes += frameSize(frame);
      if (this.earlyBytes > HIGH_WATER) this.ws.pause();
      if (this.earlyBytes > MAX_QUEUED) this.shut(1009, "too much typed before the shell started");
      return;
    }
    this.input(frame);
  }

  private input(frame: Frame) {
    const resize = typeof frame === "string" ? parseResize(frame) : null;
    if (resize) return this.shell?.resize(resize.cols, resize.rows);
    if (this.shell && !this.shell.write(frame)) this.ws.pause();
  }

  output(data: Uint8Array) {
    if (this.closed) return;
    if (this.toClient.length > 0) return this.queue(data);
    const sent = this.ws.send(data);
    if (sent === -1) this.shell?.pause();
    else if (sent === 0) this.queue(data);
  }

  private queue(data: Uint8Array) {
    this.toClient.push(data);
    this.toClientBytes += data.byteLength;
    this.shell?.pause();
    if (this.toClientBytes > MAX_QUEUED) this.shut(1009, "the control plane reads too slowly");
  }

  drain() {
    while (this.toClient.length > 0) {
      const data = this.toClient[0] as Uint8Array;
      const sent = this.ws.send(data);
      if (sent === 0) return;
      this.toClient.shift();
      this.toClientBytes -= data.byteLength;
      if (sent === -1) return;
    }
    if (this.shellGone) this.exited();
    else this.shell?.resume();
  }

  exited() {
    this.shellGone = true;
    if (this.closed || this.toClient.length > 0) return;
    this.closed = true;
    this.toClient = [];
    this.onEnd();
    this.ws.close(1000, "the shell exited");
  }

  /** Ends the socket from outside (freeze, removal) or on overflow; the shell lingers for a reattach. */
  shut(code: number, reason: string) {
    const wasClosed = this.closed;
    this.close();
    if (!wasClosed) this.ws.close(code, reason);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.toClient = [];
    this.toClientBytes = 0;
    this.onEnd();
    this.shell?.detach(this);
  }
}
