/** Polls `fn` until `ok` holds; throws with the last value seen after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (ok(last)) return last;
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
}
