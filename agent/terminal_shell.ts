// A terminal's shell that outlives its WebSocket for a while, like Coder's reconnecting PTY: a reload
// or a dropped connection reattaches to the same shell (its recent output replayed) instead of
// starting another and leaving the old one running. A shell nobody reattaches to within the linger
// time is hung up; a container keeps at most MAX_SHELLS of them.
import { readFileSync } from "node:fs";
import type { Logger } from "../common/log.ts";
import type { DockerClient } from "./docker/client.ts";
import { type HijackedStream, startExec } from "./docker/hijack.ts";

/** Output kept for a reattaching client: enough to redraw a screen or two and some scrollback. */
export const REPLAY_BYTES = 64 * 1024;
export const MAX_SHELLS = 4;
/** A reconnect id chosen by the client: a UUID, so it cannot name another key's shell by accident. */
export const RECONNECT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type ShellTarget = { containerId: string; shell: string[] };

/** Who currently shows the shell's output. */
export type ShellViewer = {
  output(data: Uint8Array): void;
  exited(): void;
};

/**
 * Docker leaves an exec's process running when its stream closes (moby#9098), so a shell must be hung
 * up as a terminal would (SIGHUP, then SIGKILL if it ignores that). The exec's pid is a host pid; it is
 * signalled only if /proc shows it inside this container's cgroup, so an agent in another pid
 * namespace (or a reused pid) never signals the wrong process.
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

export class Shell {
  private stream: HijackedStream | null = null;
  private execId = "";
  private replay: Uint8Array[] = [];
  private replayBytes = 0;
  private viewer: ShellViewer | null = null;
  private lingerTimer: ReturnType<typeof setTimeout> | null = null;
  ended = false;
  onEnd: () => void = () => {};

  constructor(
    private readonly docker: DockerClient,
    readonly target: ShellTarget,
    private readonly lingerMs: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const exec = await this.docker.createExec(this.target.containerId, {
      Cmd: this.target.shell,
      Tty: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Env: ["TERM=xterm-256color"],
    });
    this.execId = exec.Id;
    this.stream = await startExec(this.docker.socketPath, exec.Id, {
      onData: (data) => this.fromShell(data),
      onClose: () => this.exited(),
      onDrain: () => this.drainWaiter?.(),
    });
    if (this.ended) this.stream.close();
  }

  private drainWaiter: (() => void) | null = null;

  /** Shows the shell to `viewer` (replacing any other), first replaying its recent output. */
  attach(viewer: ShellViewer, onDrain: () => void): Uint8Array[] {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.viewer = viewer;
    this.drainWaiter = onDrain;
    return [...this.replay];
  }

  /** The viewer went away: the shell lingers for a reattach, then is hung up. */
  detach(viewer: ShellViewer) {
    if (this.viewer !== viewer) return;
    this.viewer = null;
    this.drainWaiter = null;
    this.stream?.resume();
    if (this.ended) return;
    this.lingerTimer = setTimeout(() => this.end("nobody reattached"), this.lingerMs);
  }

  /** Keystrokes; false when the shell is not keeping up (wait for the drain callback). */
  write(data: Uint8Array | string): boolean {
    return this.stream ? this.stream.write(data) : true;
  }

  resize(cols: number, rows: number) {
    if (this.execId) void this.docker.resizeExec(this.execId, cols, rows).catch(() => {});
  }

  /** Stop reading the shell while the viewer's socket is full; resumed when it drains. */
  pause() {
    this.stream?.pause();
  }

  resume() {
    this.stream?.resume();
  }

  private fromShell(data: Uint8Array) {
    this.replay.push(data);
    this.replayBytes += data.byteLength;
    while (this.replayBytes > REPLAY_BYTES && this.replay.length > 1) {
      this.replayBytes -= (this.replay.shift() as Uint8Array).byteLength;
    }
    this.viewer?.output(data);
  }

  private exited() {
    if (this.ended) return;
    this.ended = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.viewer?.exited();
    this.onEnd();
  }

  /** Ends the shell for good. */
  end(reason: string) {
    if (this.ended) return;
    this.ended = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.log.debug("terminal shell ended", { reason });
    this.stream?.close();
    if (this.execId) void hangUp(this.docker, this.execId, this.target.containerId);
    this.onEnd();
  }
}

/** The lingering shells of every container, by the client's reconnect id. */
export class Shells {
  private readonly byKey = new Map<string, Shell>();

  constructor(
    private readonly docker: DockerClient,
    private readonly lingerMs: number,
    private readonly log: Logger,
  ) {}

  /** The shell for this reconnect id, started if there is none (or it has ended). */
  async open(sessionId: string, reconnectId: string | null, target: ShellTarget): Promise<Shell> {
    const key = `${sessionId}/${reconnectId ?? crypto.randomUUID()}`;
    const existing = this.byKey.get(key);
    if (existing && !existing.ended && existing.target.containerId === target.containerId) return existing;
    existing?.end("replaced");
    this.evictOldest(sessionId);
    const shell = new Shell(this.docker, target, reconnectId ? this.lingerMs : 0, this.log);
    shell.onEnd = () => {
      if (this.byKey.get(key) === shell) this.byKey.delete(key);
    };
    this.byKey.set(key, shell);
    await shell.start();
    return shell;
  }

  count(sessionId: string): number {
    return [...this.byKey.keys()].filter((k) => k.startsWith(`${sessionId}/`)).length;
  }

  /** The container is going away: its shells go with it. */
  endAll(sessionId: string) {
    for (const [key, shell] of [...this.byKey])
      if (key.startsWith(`${sessionId}/`)) shell.end("container removed");
  }

  private evictOldest(sessionId: string) {
    const mine = [...this.byKey].filter(([k]) => k.startsWith(`${sessionId}/`));
    while (mine.length >= MAX_SHELLS) (mine.shift() as [string, Shell])[1].end("too many shells");
  }
}
