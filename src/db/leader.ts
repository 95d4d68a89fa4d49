// Runs a background loop on exactly one replica at a time: every replica keeps trying to take the
// advisory lock; the holder runs `tick` every interval; when the holder dies its connection (and lock)
// goes, and another replica takes over at its next try.

import type { Logger } from "../log.ts";
import type { Database, HeldLock } from "./client.ts";

export const LOCKS = { reconciler: 7_140_101, idleFreezer: 7_140_102, housekeeping: 7_140_103 } as const;

export type LeaderLoop = { stop(): Promise<void>; isLeader(): boolean; runOnce(): Promise<void> };

export function startLeaderLoop(
  database: Database,
  opts: { name: string; key: number; intervalMs: number; log: Logger; tick: () => Promise<void> },
): LeaderLoop {
  let lock: HeldLock | null = null;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const once = async () => {
    if (stopped) return;
    if (lock && !(await lock.alive())) lock = null;
    lock ??= await database.tryLock(opts.key).catch((error) => {
      opts.log.warn("leader lock unavailable", { loop: opts.name, error });
      return null;
    });
    if (!lock) {
      opts.log.debug("not the leader", { loop: opts.name });
      return;
    }
    try {
      await opts.tick();
    } catch (error) {
      opts.log.error("background loop failed", { loop: opts.name, error });
    }
  };

  const timer = setInterval(() => {
    running = running.then(once);
  }, opts.intervalMs);

  return {
    isLeader: () => lock !== null,
    runOnce() {
      running = running.then(once);
      return running;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await lock?.release();
      lock = null;
    },
  };
}
