// On the embedded database (PGlite) an authenticated API request is answered from memory: what
// clawfleet_api_request reads (the sign-in's state, the plan's limit, the session view) and the request
// count. PGlite's one statement per request cost ~0.5 ms of WASM on the only event loop (docs/
// BENCHMARKS.md), and a Worker would not run the database in parallel.
//
// Safe only on PGlite: one process opens the embedded database and makes every write, and PGlite hands
// a NOTIFY to its listeners before the committing statement's promise resolves (test/db/
// pglite_notify.test.ts). The triggers of migrations/0013_pglitecache.sql notify every change of the
// rows read here, so an entry is dropped before the writing request answers: a revoked sign-in is never
// served after the revocation's response. An entry is filled by clawfleet_api_snapshot, the same
// RLS-respecting read, and not stored if any notification came while it was read (it may be stale).
// PostgreSQL never uses this: other replicas' writes reach a listener only after their COMMIT returned.
import type { Database } from "../db/client.ts";
import { type SessionView, sessionViewFromJson } from "../sessions/sessions_repo.ts";

export const API_CACHE_CHANNEL = "clawfleet_api_cache";

/** Past this many entries a map is emptied rather than grown: a bound, never hit by real use. */
const MAX_ENTRIES = 20_000;

const SNAPSHOT = "select * from clawfleet_api_snapshot($1::uuid, $2::uuid, $3::boolean)";

type SnapshotRow = {
  sign_in_found: boolean | null;
  revoked_at: Date | string | null;
  expires_at: Date | string | null;
  last_used_at: Date | string | null;
  rate_limit: number | null;
  plan: unknown;
  session: unknown;
  node_name: string | null;
};

type SignInState = { userId: string; revoked: boolean; expiresAt: number; lastUsedAt: number };
type RawView = { plan: unknown; session: unknown; nodeName: string | null };
type UserState = { limit: number; view: RawView | null };

export type CachedCall = { signedIn: boolean; limit: number; view: SessionView | null };

export class EmbeddedAuthCache {
  private readonly signIns = new Map<string, SignInState>();
  private readonly users = new Map<string, UserState>();
  private readonly counts = new Map<string, { windowStart: number; count: number }>();
  /** Bumped by every notification: a fill that saw it change may hold a row read before the write. */
  private epoch = 0;
  /** For tests and the benchmark's notes: answers from memory, database reads, notifications. */
  readonly stats = { hits: 0, fills: 0, invalidations: 0 };

  constructor(private readonly database: Database) {}

  /** Drops what a notification of migrations/0013_pglitecache.sql names; anything unknown drops all. */
  invalidate(payload: string) {
    this.epoch++;
    this.stats.invalidations++;
    const colon = payload.indexOf(":");
    const kind = colon < 0 ? payload : payload.slice(0, colon);
    const id = payload.slice(colon + 1);
    if (kind === "sign_in") {
      this.signIns.delete(id);
    } else if (kind === "user") {
      this.users.delete(id);
      for (const [signInId, state] of this.signIns) if (state.userId === id) this.signIns.delete(signInId);
    } else if (kind === "plan" || kind === "node") {
      this.users.clear();
    } else {
      this.users.clear();
      this.signIns.clear();
    }
  }

  /** The sign-in's state now, the plan's limit and (when asked) the session view. */
  async read(
    userId: string,
    signInToCheck: string | null,
    readSession: boolean,
    idleMs: number,
    now: number,
  ): Promise<CachedCall> {
    const signIn = signInToCheck === null ? undefined : this.signIns.get(signInToCheck);
    const user = this.users.get(userId);
    const signInKnown = signInToCheck === null || signIn?.userId === userId;
    if (signInKnown && user && (!readSession || user.view)) {
      this.stats.hits++;
      return answer(signInToCheck === null || active(signIn, idleMs, now), user, readSession);
    }
    const epoch = this.epoch;
    const [row] = await this.database.query<SnapshotRow>(SNAPSHOT, [userId, signInToCheck, readSession]);
    this.stats.fills++;
    const filled: UserState = {
      limit: row?.rate_limit ?? 30,
      view: readSession ? { plan: row?.plan, session: row?.session, nodeName: row?.node_name ?? null } : null,
    };
    const state = signInToCheck !== null && row?.sign_in_found ? signInFrom(userId, row) : undefined;
    if (epoch === this.epoch) this.store(userId, signInToCheck, state, filled);
    return answer(signInToCheck === null || active(state, idleMs, now), filled, readSession);
  }

  /** Counts one request in the user's fixed window; returns the window's count so far. */
  count(userId: string, windowStart: number): number {
    const current = this.counts.get(userId);
    if (current && current.windowStart === windowStart) return ++current.count;
    if (this.counts.size >= MAX_ENTRIES) {
      for (const [key, old] of this.counts) if (old.windowStart < windowStart) this.counts.delete(key);
    }
    this.counts.set(userId, { windowStart, count: 1 });
    return 1;
  }

  private store(userId: string, signInId: string | null, state: SignInState | undefined, filled: UserState) {
    if (this.signIns.size >= MAX_ENTRIES) this.signIns.clear();
    if (this.users.size >= MAX_ENTRIES) this.users.clear();
    if (signInId !== null && state) this.signIns.set(signInId, state);
    // A limit-only read keeps a view already held: nothing was notified since either was read.
    const view = filled.view ?? this.users.get(userId)?.view ?? null;
    this.users.set(userId, { limit: filled.limit, view });
  }
}

function time(value: Date | string | null): number {
  return value === null ? Number.NaN : new Date(value).getTime();
}

function signInFrom(userId: string, row: SnapshotRow): SignInState {
  return {
    userId,
    revoked: row.revoked_at !== null,
    expiresAt: time(row.expires_at),
    lastUsedAt: time(row.last_used_at),
  };
}

/** clawfleet_api_request's test: not revoked, not past expires_at, used within the idle time. */
function active(state: SignInState | undefined, idleMs: number, now: number): boolean {
  return !!state && !state.revoked && state.expiresAt > now && state.lastUsedAt + idleMs > now;
}

function answer(signedIn: boolean, user: UserState, readSession: boolean): CachedCall {
  const view = readSession && user.view ? user.view : null;
  return {
    signedIn,
    limit: user.limit,
    view: view ? sessionViewFromJson(view.plan, view.session, view.nodeName) : null,
  };
}

/** The cache and its listener, only for the embedded database; null on PostgreSQL. */
export async function startEmbeddedAuthCache(
  database: Database,
): Promise<{ cache: EmbeddedAuthCache; stop(): Promise<void> } | null> {
  if (database.driver !== "pglite") return null;
  const cache = new EmbeddedAuthCache(database);
  const stop = await database.listen(API_CACHE_CHANNEL, (payload) => cache.invalidate(payload));
  return { cache, stop };
}
