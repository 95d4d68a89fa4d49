// The runtime is PID 1 in its container, so every orphan there becomes its child: a shell command's
// background job killed with its group, or a process left behind by a terminal session. The kernel
// keeps each one as a zombie (holding a slot of the container's pids limit) until PID 1 collects it,
// and Bun collects only the processes it spawned itself. This reaper collects the others: every few
// seconds it looks for zombies whose parent is this process and that Bun is not tracking (the shell
// tool registers the ones it spawns), and waits for each through libc's waitpid, by pid and without
// blocking, so it never steals the exit status of a process Bun is watching.
import { readdirSync, readFileSync } from "node:fs";
import type { Logger } from "../common/log.ts";

const WNOHANG = 1;
const INTERVAL_MS = 5_000;

/** Pids Bun itself waits for (the shell tool's processes): never reaped here. */
export const ownChildren = new Set<number>();

type WaitPid = (pid: number, status: null, options: number) => number;

async function loadWaitpid(): Promise<WaitPid | null> {
  try {
    const { dlopen, FFIType } = await import("bun:ffi");
    const libc = dlopen("libc.so.6", {
      waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    });
    return libc.symbols.waitpid as unknown as WaitPid;
  } catch {
    return null;
  }
}

/** Zombies whose parent is this process, from /proc (bounded: at most the pids limit's worth). */
export function orphanZombies(selfPid = process.pid): number[] {
  const zombies: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return zombies;
  }
  for (const entry of entries.slice(0, 100_000)) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue;
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ")" ends it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" && Number(fields[1]) === selfPid) zombies.push(Number(entry));
  }
  return zombies;
}

/** Starts the reaper when this process is PID 1 (in a container); returns a stop function. */
export async function startReaper(log: Logger, force = false): Promise<() => void> {
  if (process.pid !== 1 && !force) return () => {};
  const waitpid = await loadWaitpid();
  if (!waitpid) {
    log.warn("no waitpid: orphaned processes will stay zombies until the container restarts");
    return () => {};
  }
  const timer = setInterval(() => {
    for (const pid of orphanZombies()) {
      if (ownChildren.has(pid)) continue;
      waitpid(pid, null, WNOHANG);
    }
  }, INTERVAL_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}
