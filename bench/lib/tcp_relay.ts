// A TCP relay that only copies bytes between a client and one upstream port (with back-pressure: what a
// socket did not take waits for its drain). No TLS, no HTTP, no JavaScript per request: the least any
// extra process hop can cost, as a floor beside the provider gateway (bench/provider_gateway.ts).
import type { Socket } from "bun";

type End = { peer: Socket<End> | null; waiting: Uint8Array[] };

function send(to: Socket<End>, bytes: Uint8Array) {
  if (to.data.waiting.length > 0) {
    to.data.waiting.push(bytes.slice());
    return;
  }
  const written = to.write(bytes);
  if (written < bytes.byteLength) to.data.waiting.push(bytes.slice(written));
}

function flush(socket: Socket<End>) {
  while (socket.data.waiting.length > 0) {
    const bytes = socket.data.waiting[0] as Uint8Array;
    const written = socket.write(bytes);
    if (written < bytes.byteLength) {
      socket.data.waiting[0] = bytes.subarray(written);
      return;
    }
    socket.data.waiting.shift();
  }
}

/** Listens on 127.0.0.1 (a free port) and relays each connection to 127.0.0.1:`upstreamPort`. */
export function startTcpRelay(upstreamPort: number): { port: number; stop(): void } {
  const listener = Bun.listen<End>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { peer: null, waiting: [] };
        void Bun.connect<End>({
          hostname: "127.0.0.1",
          port: upstreamPort,
          data: { peer: client, waiting: [] },
          socket: {
            open(upstream) {
              client.data.peer = upstream;
              // What the client sent before the upstream answered waited on the client's side.
              upstream.data.waiting.push(...client.data.waiting.splice(0));
              flush(upstream);
            },
            data(upstream, bytes) {
              if (upstream.data.peer) send(upstream.data.peer, bytes);
            },
            drain: flush,
            close(upstream) {
              upstream.data.peer?.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, bytes) {
        if (client.data.peer) send(client.data.peer, bytes);
        else client.data.waiting.push(bytes.slice());
      },
      drain(client) {
        if (client.data.peer) flush(client);
      },
      close(client) {
        client.data.peer?.end();
      },
    },
  });
  return { port: listener.port, stop: () => listener.stop(true) };
}
