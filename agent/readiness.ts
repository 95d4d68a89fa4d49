// The readiness wait after a container starts: GET the template's health path on the gateway's
// 127.0.0.1-published port until it answers 2xx. Shared with the benches, so the raw `docker run`
// baseline waits exactly the same way.
//
// Polls every 10 ms for the first half second (a runtime container answers ~100 ms after start, and
// a 100 ms poll added 50 ms to the average spawn), then every 100 ms. A failed poll costs a refused
// or reset connection on loopback. `between` (a Docker inspect, to fail fast when the container
// exited) runs at most every 100 ms, not after each fast poll.
export const READINESS_FAST_POLL_MS = 10;
export const READINESS_FAST_FOR_MS = 500;
export const READINESS_POLL_MS = 100;

export async function healthAnswers(port: number, path: string): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
}

/**
 * Polls until the health path answers (true) or `timeoutMs` passes (false). `between` runs after a
 * failed poll (at most every READINESS_POLL_MS) and may throw to give up early (the container exited).
 */
export async function waitHealthy(opts: {
  port: number;
  path: string;
  timeoutMs: number;
  between?: () => Promise<void>;
}): Promise<boolean> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let lastBetween = started;
  while (Date.now() < deadline) {
    if (await healthAnswers(opts.port, opts.path)) return true;
    const now = Date.now();
    await Bun.sleep(now - started < READINESS_FAST_FOR_MS ? READINESS_FAST_POLL_MS : READINESS_POLL_MS);
    if (opts.between && Date.now() - lastBetween >= READINESS_POLL_MS) {
      lastBetween = Date.now();
      await opts.between();
    }
  }
  return false;
}
