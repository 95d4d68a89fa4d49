// The shell tool: one command through /bin/sh in the container itself, with the data directory as its
// working directory. The command runs in its own process group so a timeout kills everything it
// started, not only the shell. Its environment is minimal: the runtime's keys and gateway token are
// not handed to commands the model wrote.
import { ownChildren } from "../reaper.ts";

export const SHELL_TIMEOUT_MS = 30_000;
export const SHELL_MAX_TIMEOUT_MS = 120_000;
export const SHELL_OUTPUT_CAP = 64 * 1024;

export type ShellResult = { exitCode: number | null; output: string; timedOut: boolean; truncated: boolean };

export async function runShell(
  command: string,
  options: { cwd: string; timeoutMs: number; signal: AbortSignal; outputCap?: number },
): Promise<ShellResult> {
  const cap = options.outputCap ?? SHELL_OUTPUT_CAP;
  const proc = Bun.spawn(["/bin/sh", "-c", command], {
    cwd: options.cwd,
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", HOME: options.cwd, LANG: "C.UTF-8" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  ownChildren.add(proc.pid);
  let timedOut = false;
  const killGroup = () => {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  options.signal.addEventListener("abort", killGroup, { once: true });

  const chunks: Uint8Array[] = [];
  let kept = 0;
  let truncated = false;
  // Both streams share one budget; what passes it is read and dropped, so the command never blocks
  // on a full pipe.
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      if (kept >= cap) {
        truncated = true;
        continue;
      }
      const slice = chunk.subarray(0, cap - kept);
      if (slice.length < chunk.length) truncated = true;
      chunks.push(slice);
      kept += slice.length;
    }
  };
  const drained = Promise.all([drain(proc.stdout), drain(proc.stderr)]);
  const exitCode = await proc.exited;
  ownChildren.delete(proc.pid);
  clearTimeout(timer);
  options.signal.removeEventListener("abort", killGroup);
  // A background child may still hold the pipes open: kill the group, then take what is buffered.
  killGroup();
  await Promise.race([drained, Bun.sleep(1000)]);
  const output = new TextDecoder().decode(Buffer.concat(chunks));
  return { exitCode: timedOut ? null : exitCode, output, timedOut, truncated };
}
