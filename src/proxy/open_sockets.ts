// The session WebSockets open on this replica, by sign-in (refresh family) and by user, so that ending
// a sign-in ends its sockets too: an access token is only checked at the upgrade, and a socket opened
// with a stolen token would otherwise keep its shell after the victim signs out.
//
// A revocation can overtake a socket still opening (its token checked, `register` not yet called), so
// endings seen in the last minute are remembered and a socket whose check predates one is closed as
// soon as it registers.
export type SignInRef = { userId: string; signInId: string };

import type { SignInsEnded } from "../auth/sign_ins_ended.ts";

type Entry = SignInRef & { close(): void };
type Remembered = SignInsEnded & { at: number };

const REMEMBER_MS = 60_000;
const REMEMBER_MAX = 10_000;

export class OpenSockets {
  private readonly byUser = new Map<string, Set<Entry>>();
  private recent: Remembered[] = [];

  get size(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  /** Adds a socket whose token was verified at `checkedAt`; returns its removal. */
  register(ref: SignInRef, checkedAt: number, close: () => void): () => void {
    if (this.recent.some((ended) => ended.at >= checkedAt && covers(ended, ref))) {
      close();
      return () => {};
    }
    const entry: Entry = { ...ref, close };
    const set = this.byUser.get(ref.userId) ?? new Set();
    set.add(entry);
    this.byUser.set(ref.userId, set);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.byUser.get(ref.userId) === set) this.byUser.delete(ref.userId);
    };
  }

  /** Closes every socket the ending covers; returns how many. */
  ended(event: SignInsEnded, now = Date.now()): number {
    this.recent = this.recent.filter((r) => now - r.at < REMEMBER_MS).slice(-REMEMBER_MAX);
    this.recent.push({ ...event, at: now });
    let closed = 0;
    const set = this.byUser.get(event.userId);
    for (const entry of [...(set ?? [])]) {
      if (!covers(event, entry)) continue;
      set?.delete(entry);
      closed++;
      entry.close();
    }
    if (set?.size === 0) this.byUser.delete(event.userId);
    return closed;
  }
}

function covers(event: SignInsEnded, ref: SignInRef): boolean {
  if (event.userId !== ref.userId) return false;
  if (event.signInId !== null) return event.signInId === ref.signInId;
  return event.except !== ref.signInId;
}
