// In-process notice that a session's row changed (a spawn step, ready, failed), for GET
// /api/v1/session?wait=N: a client waiting on its spawn hears of it at once instead of at its next
// poll. Only this replica's spawn jobs notify; a waiter also re-reads the database every
// RECHECK_MS, so a change written by another replica is seen within that time.
export const RECHECK_MS = 250;

export class SessionChanges {
  private readonly waiters = new Map<string, Set<() => void>>();

  notify(sessionId: string) {
    const waiting = this.waiters.get(sessionId);
    if (!waiting) return;
    this.waiters.delete(sessionId);
    for (const wake of waiting) wake();
  }

  /** Resolves at the session's next change, or after `ms` (whichever comes first). */
  next(sessionId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiting = this.waiters.get(sessionId) ?? new Set<() => void>();
      this.waiters.set(sessionId, waiting);
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        if (waiting.size === 0 && this.waiters.get(sessionId) === waiting) this.waiters.delete(sessionId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiting.add(wake);
    });
  }
}
