// A TCP forwarder the test owns, to cut and restore a service's connectivity (e.g. PostgreSQL) without
// touching the service itself. `freeze` keeps every connection open but passes nothing either way,
// as a peer that vanished without a reset (a pulled cable) looks until keepalives notice.
import type { Socket, TCPSocketListener } from "bun";

export type TcpProxy = { port: number; cut(): void; restore(): void; freeze(): void; stop(): void };

export function startTcpProxy(targetPort: number, port = 0): TcpProxy {
  const live = new Set<Socket<unknown>>();
  let frozen = false;
  let listener: TCPSocketListener<{ peer?: Socket<unknown>; buffered: Uint8Array[] }> | null = null;
  const listen = (onPort: number) =>
    Bun.listen<{ peer?: Socket<unknown>; buffered: Uint8Array[] }>({
      hostname: "127.0.0.1",
      port: onPort,
      socket: {
        open(client) {
          client.data = { buffered: [] };
          live.add(client as Socket<unknown>);
          Bun.connect({
            hostname: "127.0.0.1",
            port: targetPort,
            socket: {
              open(upstream) {
                live.add(upstream as Socket<unknown>);
                client.data.peer = upstream as Socket<unknown>;
                for (const chunk of client.data.buffered) upstream.write(chunk);
                client.data.buffered = [];
              },
              data(_upstream, chunk) {
                if (!frozen) client.write(chunk);
              },
              close() {
                client.end();
              },
              error() {
                client.end();
              },
            },
          }).catch(() => client.end());
        },
        data(client, chunk) {
          if (frozen) return;
          if (client.data.peer) client.data.peer.write(chunk);
          else client.data.buffered.push(new Uint8Array(chunk));
        },
        close(client) {
          live.delete(client as Socket<unknown>);
          client.data.peer?.end();
        },
        error(client) {
          client.data.peer?.end();
        },
      },
    });
  listener = listen(port);
  const boundPort = listener.port;
  return {
    port: boundPort,
    cut() {
      listener?.stop(true);
      listener = null;
      for (const socket of live) socket.terminate();
      live.clear();
    },
    restore() {
      frozen = false;
      listener ??= listen(boundPort);
    },
    freeze() {
      frozen = true;
    },
    stop() {
      this.cut();
    },
  };
}
