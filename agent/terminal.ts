// WS /v1/containers/:id/terminal: `docker exec` of the template's shell with a TTY, its raw stream
// relayed to the WebSocket. Binary or text frames are keystrokes; a text frame holding
// {"type":"resize","cols":N,"rows":N} resizes the TTY. Output goes out as binary frames, with the
// same back-pressure as the gateway: a slow reader pauses the shell's stream, a slow shell pauses
// the socket.
import { readFileSync } from "node:fs";
import type { ServerWebSocket } from "bun";
import type { Logger } from "../common/log.ts";
import { type Frame, frameSize, HIGH_WATER, MAX_QUEUED, type WsSession } from "../common/ws_relay.ts";
import type { DockerClient } from "./docker/client.ts";
import { type HijackedStream, startExec } from "./docker/hijack.ts";

export type TerminalTarget = { containerId: string; shell: string[] };

/**
 * Docker leaves an exec's process running when its stream closes (moby#9098), so a closed terminal
 * would leave its shell behind: hang it up as a terminal would (SIGHUP, then SIGKILL if it ignores
 * that). The exec's pid is a host pid; it is signalled only if /proc shows it inside this container's
 * cgroup, so an agent in another pid namespace (or a reused pid) never signals the wrong process.
 */
async function hangUp(docker: DockerClient, execId: string, containerId: string) {
  for (const signal of ["SIGHUP", "SIGKILL"] as const) {
    const exec = await docker.inspectExec(execId).catch(() => null);
    if (!exec?.Running || !exec.Pid) return;
    let cgroup = "";
    try {
      cgroup = readFileSync(`/proc/${exec.Pid}/cgroup`, "utf8");
    } catch {
      return;
    }
    if (!cgroup.includes(containerId)) return;
    try {
      process.kill(exec.Pid, signal);
    } catch {
      return;
    }
    await Bun.sleep(2000);
  }
}

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

export class TerminalSession implements WsSession {
  private stream: HijackedStream | null = null;
  private execId = "";
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
    private readonly docker: DockerClient,
    private readonly target: TerminalTarget,
    private readonly log: Logger,
  ) {
    void this.start(target);
  }

  private async start(target: TerminalTarget) {
    try {
      const exec = await this.docker.createExec(target.containerId, {
        Cmd: target.shell,
        Tty: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Env: ["TERM=xterm-256color"],
      });
      this.execId = exec.Id;
      const stream = await startExec(this.docker.socketPath, exec.Id, {
        onData: (data) => this.output(data),
        onClose: () => this.shellExited(),
        onDrain: () => this.ws.resume(),
      });
      if (this.closed) {
        stream.close();
        return void hangUp(this.docker, exec.Id, target.containerId);
      }
      this.stream = stream;
      for (const frame of this.early.splice(0)) this.input(frame);
      if (this.ws.isPaused) this.ws.resume();
    } catch (error) {
      this.log.warn("terminal failed to start", { error });
      this.shut(1011, "the terminal failed to start");
    }
  }

  message(frame: Frame) {
    if (this.closed) return;
    if (!this.stream) {
      this.early.push(frame);
      this.earlyBytes += frameSize(frame);
      if (this.earlyBytes > HIGH_WATER) this.ws.pause();
      return;
    }
    this.input(frame);
  }

  private input(frame: Frame) {
    const resize = typeof frame === "string" ? parseResize(frame) : null;
    if (resize) {
      void this.docker.resizeExec(this.execId, resize.cols, resize.rows).catch(() => {});
      return;
    }
    if (this.stream && !this.stream.write(frame)) this.ws.pause();
  }

  private output(data: Uint8Array) {
    if (this.closed) return;
    if (this.toClient.length > 0) return this.queue(data);
    const sent = this.ws.send(data);
    if (sent === -1) this.stream?.pause();
    else if (sent === 0) this.queue(data);
  }

  private queue(data: Uint8Array) {
    this.toClient.push(data);
    this.toClientBytes += data.byteLength;
    this.stream?.pause();
    if (this.toClientBytes > MAX_QUEUED) this.shut(1009, "the control plane reads too slowly");
  }

  /** Ends the terminal from outside (freeze, removal) or on overflow: the socket gets `code`. */
  shut(code: number, reason: string) {
    const wasClosed = this.closed;
    this.close();
    if (!wasClosed) this.ws.close(code, reason);
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
    if (this.shellGone) this.shellExited();
    else this.stream?.resume();
  }

  private shellExited() {
    this.shellGone = true;
    if (this.closed || this.toClient.length > 0) return;
    this.closed = true;
    this.toClient = [];
    this.onEnd();
    this.ws.close(1000, "the shell exited");
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.toClient = [];
    this.toClientBytes = 0;
    this.onEnd();
    // Decided before closing the stream: its end looks like the shell exiting.
    const hangUpShell = this.stream !== null && !this.shellGone;
    this.stream?.close();
    if (hangUpShell) void hangUp(this.docker, this.execId, this.target.containerId);
  }
}
