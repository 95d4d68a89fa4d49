// How many container sockets one user may hold and open. Each open socket costs buffers on this
// server and on the node's agent, so one user cannot hold hundreds, nor churn upgrades (each one
// is a signed round trip to the agent and a possible restore) faster than a person reloads a page.
// Per replica: a user spread over replicas gets each replica's allowance, which still bounds them.
export const MAX_SOCKETS_PER_USER = 8;
export const MAX_UPGRADES_PER_MINUTE = 30;

export type SocketRefusal = { message: string; retryAfterSeconds: number };

export class SocketLimits {
  private readonly openByUser = new Map<string, number>();
  private readonly upgradesByUser = new Map<string, number[]>();

  constructor(
    private readonly maxOpen = MAX_SOCKETS_PER_USER,
    private readonly maxPerMinute = MAX_UPGRADES_PER_MINUTE,
  ) {}

  /** Counts one more socket for the user, or says why not. */
  acquire(userId: string, now = Date.now()): SocketRefusal | null {
    const recent = (this.upgradesByUser.get(userId) ?? []).filter((at) => now - at < 60_000);
    if (recent.length >= this.maxPerMinute) {
      this.upgradesByUser.set(userId, recent);
      const retry = Math.ceil((60_000 - (now - (recent[0] ?? now))) / 1000);
      return {
        message: "Too many connections opened in the last minute. Try again shortly.",
        retryAfterSeconds: Math.max(1, retry),
      };
    }
    const open = this.openByUser.get(userId) ?? 0;
    if (open >= this.maxOpen) {
      return {
        message: `At most ${this.maxOpen} connections to your container at once: close a tab first.`,
        retryAfterSeconds: 5,
      };
    }
    recent.push(now);
    this.upgradesByUser.set(userId, recent);
    this.openByUser.set(userId, open + 1);
    this.prune(now);
    return null;
  }

  release(userId: string) {
    const open = (this.openByUser.get(userId) ?? 0) - 1;
    if (open > 0) this.openByUser.set(userId, open);
    else this.openByUser.delete(userId);
  }

  openFor(userId: string): number {
    return this.openByUser.get(userId) ?? 0;
  }

  /** Forgets users with no recent upgrade, so the map does not grow with every user ever seen. */
  private prune(now: number) {
    if (this.upgradesByUser.size < 1024) return;
    for (const [user, times] of this.upgradesByUser) {
      if (!times.some((at) => now - at < 60_000)) this.upgradesByUser.delete(user);
    }
  }
}
