// Each session's current keys, in this process's memory only (never on disk, never in a container).
// Freshness is what makes key changes live without a restart: an entry younger than FRESH is used as
// is; between FRESH and MAX_AGE it is still used while one refresh runs in the background; past
// MAX_AGE a request waits for the server. So a deleted key stops working within MAX_AGE plus one
// round trip (under the 5 s the product promises), and the hot path almost never waits. If the server
// cannot be asked, an entry past MAX_AGE is not used: failing closed is the price of revocation.
import type { Provider } from "../../common/providers.ts";
import type { ProviderKeysResponse } from "../api/contract.ts";
import { type KeySource, ServerChannelError } from "./server_channel.ts";

export const FRESH_MS = 1500;
export const MAX_AGE_MS = 3500;

type Entry = {
  keys: Partial<Record<Provider, string>>;
  budget: ProviderKeysResponse["budget"];
  fetchedAt: number;
  refreshing: Promise<Entry> | null;
};

export type SessionKeys = Pick<Entry, "keys" | "budget">;

export class KeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly source: KeySource,
    private readonly timing = { freshMs: FRESH_MS, maxAgeMs: MAX_AGE_MS },
    private readonly now = () => Date.now(),
  ) {}

  private refresh(sessionId: string, current: Entry | undefined): Promise<Entry> {
    if (current?.refreshing) return current.refreshing;
    const job = this.source.fetchKeys(sessionId).then(
      (fresh) => {
        const entry: Entry = { ...fresh, fetchedAt: this.now(), refreshing: null };
        this.entries.set(sessionId, entry);
        return entry;
      },
      (error) => {
        if (current) current.refreshing = null;
        throw error;
      },
    );
    if (current) current.refreshing = job;
    job.catch(() => {});
    return job;
  }

  async get(sessionId: string): Promise<SessionKeys> {
    const entry = this.entries.get(sessionId);
    const age = entry ? this.now() - entry.fetchedAt : Number.POSITIVE_INFINITY;
    if (entry && age < this.timing.freshMs) return entry;
    if (entry && age < this.timing.maxAgeMs) {
      void this.refresh(sessionId, entry).catch(() => {});
      return entry;
    }
    try {
      return await this.refresh(sessionId, entry);
    } catch (error) {
      if (entry) this.entries.delete(sessionId);
      throw error instanceof ServerChannelError ? error : new ServerChannelError(503, String(error));
    }
  }

  /** Tokens used since the last fetch count against the budget before the server has heard of them. */
  addUsage(sessionId: string, tokens: number) {
    const entry = this.entries.get(sessionId);
    if (entry) entry.budget = { ...entry.budget, usedThisMonth: entry.budget.usedThisMonth + tokens };
  }

  forget(sessionId: string) {
    this.entries.delete(sessionId);
  }
}
