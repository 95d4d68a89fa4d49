// Runs a background loop on exactly one replica at a time: every replica keeps trying to take the
// advisory lock; the holder runs `tick` every interval; when the holder dies its connection (and lock)
// goes, and another replica takes over at its next try.
// Every step has a deadline: a database or agent that stops answering mid-tick (a dropped connection
// can leave a query waiting forever) must not stop the loop, so a stuck tick is abandoned and the
// lock is re-checked on a fresh connection.
import type { Logger } from "../../common/log.ts";
import type { Database, HeldLock } from "./client.ts";

export const LOCKS = { reconciler: 7_140_101, idleFreezer: 7_140_102, housekeeping: 7_140_103 } as const;

export type LeaderLoop = { stop(): Promise<void>; isLeader(): boolean; runOnce(): Promise<void> };

class Timeout extends Error {}

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Timeout(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function startLeaderLoop(
  database: Database,
  opts: {
    name: string;
    key: number;
    intervalMs: number;
    log: Logger;
    tick: () => Promise<void>;
    tickTimeoutMs?: number;
    /** How long taking the lock may wait (a connection from the pool, then the lock query). */
    lockTimeoutMs?: number;
  },
): LeaderLoop {
  let lock: HeldLock | null = null;
  let stopped = false;
  let current: Promise<void> | null = null;
  const tickTimeout = opts.tickTimeoutMs ?? Math.max(30_000, opts.intervalMs * 3);

  const dropLock = () => {
    const old = lock;
    lock = null;
    void old?.release().catch(() => {});
  };

  const once = async () => {
    if (stopped) return;
    if (lock && !(await within(3000, "lock check", lock.alive()).catch(() => false))) dropLock();
    if (!lock) {
      const attempt = database.tryLock(opts.key);
      lock = await within(opts.lockTimeoutMs ?? 5000, "lock", attempt).catch((error) => {
        // An attempt given up at its deadline may still get its connection and the lock later (a pool
        // waiting out an outage): that lock is given back, or no replica could ever lead again.
        attempt.then(
          (late) => late?.release().catch(() => {}),
          () => {},
        );
        opts.log.warn("leader lock unavailable", { loop: opts.name, error });
        return null;
      });
    }
    if (!lock) {
      opts.log.debug("not the leader", { loop: opts.name });
      return;
    }
    try {
      await within(tickTimeout, opts.name, opts.tick());
    } catch (error) {
      opts.log.error("background loop failed", { loop: opts.name, error });
      if (error instanceof Timeout) dropLock();
    }
  };

  const run = () => {
    // One tick at a time; a tick that overruns the interval just delays the next one.
    current ??= once().finally(() => {
      current = null;
    });
    return current;
  };

  const timer = setInterval(run, opts.intervalMs);

  return {
    isLeader: () => lock !== null,
    runOnce: run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
      await lock?.release().catch(() => {});
      lock = null;
    },
  };
}
