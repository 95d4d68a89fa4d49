// Sign-ins this process saw active a moment ago, so checking an access token does not read
// auth_sessions on every request (it was a third of an authenticated request's statements).
//
// Revocation stays immediate on every replica: a trigger on auth_sessions (migrations/0009_perf.sql)
// sends NOTIFY clawfleet_sign_in_changed with the sign-in id whenever a row is revoked, re-dated or
// deleted, by whatever code or SQL, inside that transaction; every replica's listener hears it at
// commit and drops the entry, so the next request reads the row. Three guards keep a stale "active":
// - nothing is cached until the LISTEN is up, and the cache is emptied each time it is re-established
//   (notifications sent while the listening connection was down are lost);
// - a read that started before any invalidation arrived is not stored (it may predate the revoke);
// - an entry lives ENTRY_TTL_MS at most, which bounds what a dropped listening connection could leave
//   behind until postgres.js notices and listens again.
// Only "active" is cached; a revoked or unknown sign-in is read from the database every time.
import type { Database } from "../db/client.ts";

export const SIGN_IN_CHANGED_CHANNEL = "clawfleet_sign_in_changed";
const ENTRY_TTL_MS = 5_000;
const MAX_ENTRIES = 50_000;

export type ActiveSignIn = { userId: string; expiresAt: number; lastUsedAt: number };
type Entry = ActiveSignIn & { until: number };

export class SignInCache {
  private entries = new Map<string, Entry>();
  private listening = false;
  /** Bumped by every invalidation: a read begun under an older epoch is not stored. */
  private epoch = 0;

  /** The epoch to pass to `remember` for a read that starts now. */
  begin(): number {
    return this.epoch;
  }

  /** The cached row of an active sign-in of `userId`, or null (not cached, or not that user's). */
  get(signInId: string, userId: string, now = Date.now()): ActiveSignIn | null {
    const entry = this.entries.get(signInId);
    if (!entry) return null;
    if (entry.until <= now || entry.userId !== userId) {
      this.entries.delete(signInId);
      return null;
    }
    return entry;
  }

  remember(signInId: string, row: ActiveSignIn, epoch: number, now = Date.now()) {
    if (!this.listening || epoch !== this.epoch) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(signInId, { ...row, until: now + ENTRY_TTL_MS });
  }

  forget(signInId: string) {
    this.epoch++;
    this.entries.delete(signInId);
  }

  /** No longer listening: nothing cached can be trusted, nothing new is stored. */
  stopped() {
    this.listening = false;
    this.epoch++;
    this.entries.clear();
  }

  /** (Re)listening: whatever was cached may have missed a notification. */
  listened() {
    this.epoch++;
    this.entries.clear();
    this.listening = true;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** A cache fed by this database's notifications; `stop` unlistens (the cache then stores nothing). */
export async function startSignInCache(
  database: Database,
): Promise<{ cache: SignInCache; stop(): Promise<void> }> {
  const cache = new SignInCache();
  const unlisten = await database.listen(
    SIGN_IN_CHANGED_CHANNEL,
    (payload) => cache.forget(payload),
    () => cache.listened(),
  );
  return {
    cache,
    async stop() {
      cache.stopped();
      await unlisten();
    },
  };
}
