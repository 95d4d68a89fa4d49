// Recognises "the database is not there" (refused, dropped, shutting down) as opposed to a bug or bad
// input, so requests get a clear 503 while PostgreSQL is away and work again when it is back.
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "57P01",
  "57P02",
  "57P03",
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * postgres.js under Bun can run a deferred write after a failed connection has dropped its socket
 * (`nextWrite`: "null is not an object (evaluating 'socket.write')"), outside any query's promise.
 * It is the same outage seen from another angle, and the pool recovers, so it is survivable too.
 */
export function isDatabaseDriverGlitch(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  const stack = (error as { stack?: unknown })?.stack;
  return (
    error instanceof TypeError &&
    typeof stack === "string" &&
    /\bnextWrite\b|postgres\/src\/connection\.js/.test(stack) &&
    /socket/.test(error.message)
  );
}
