// The readiness wait after a container starts: GET the template's health path on the gateway's
// 127.0.0.1-published port every 100 ms until it answers 2xx. Shared with bench/agent_spawn.ts, so
// the raw `docker run` baseline waits exactly the same way.
export const READINESS_POLL_MS = 100;

export async function healthAnswers(port: number, path: string): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
}

/**
 * Polls until the health path answers (true) or `timeoutMs` passes (false). `between` runs after each
 * failed poll and may throw to give up early (the container exited).
 */
export async function waitHealthy(opts: {
  port: number;
  path: string;
  timeoutMs: number;
  between?: () => Promise<void>;
}): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (await healthAnswers(opts.port, opts.path)) return true;
    await Bun.sleep(READINESS_POLL_MS);
    await opts.between?.();
  }
  return false;
}
