// The WebSockets open per container, so that freezing or removing a container ends them at once: a
// socket to a frozen container would otherwise sit there taking frames that nobody reads.
export type Shuttable = { shut(code: number, reason: string): void };

export class OpenSockets {
  private readonly bySession = new Map<string, Set<Shuttable>>();

  add(sessionId: string, socket: Shuttable): () => void {
    const set = this.bySession.get(sessionId) ?? new Set<Shuttable>();
    this.bySession.set(sessionId, set);
    set.add(socket);
    return () => {
      set.delete(socket);
      if (set.size === 0 && this.bySession.get(sessionId) === set) this.bySession.delete(sessionId);
    };
  }

  count(sessionId: string): number {
    return this.bySession.get(sessionId)?.size ?? 0;
  }

  shutAll(sessionId: string, code: number, reason: string) {
    for (const socket of [...(this.bySession.get(sessionId) ?? [])]) socket.shut(code, reason);
    this.bySession.delete(sessionId);
  }
}
