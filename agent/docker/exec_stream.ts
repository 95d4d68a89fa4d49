// Starts a Docker exec with a TTY and hands back the raw, hijacked stream: Docker answers the start
// request with `101 UPGRADED` and from then on the socket carries the terminal's bytes both ways
// (with a TTY there is no stdout/stderr multiplexing).
import type { Socket } from "bun";
import { DOCKER_API_VERSION, DockerError } from "./client.ts";

export type ExecStream = {
  write(data: Uint8Array | string): void;
  close(): void;
};

export function startExecStream(
  socketPath: string,
  execId: string,
  handlers: { onData(data: Uint8Array): void; onClose(): void },
): Promise<ExecStream> {
  const body = JSON.stringify({ Detach: false, Tty: true });
  const request =
    `POST /${DOCKER_API_VERSION}/exec/${execId}/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n` +
    `Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let upgraded = false;
    let closed = false;
    const pending: (Uint8Array | string)[] = [];
    let sock: Socket<undefined> | null = null;
    const flush = () => {
      while (sock && pending.length) {
        const chunk = pending[0] as Uint8Array | string;
        const wrote = sock.write(chunk);
        const length = typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
        if (wrote < length) {
          pending[0] = typeof chunk === "string" ? Buffer.from(chunk).subarray(wrote) : chunk.subarray(wrote);
          return;
        }
        pending.shift();
      }
    };
    const stream: ExecStream = {
      write(data) {
        pending.push(data);
        flush();
      },
      close() {
        if (!closed) sock?.end();
      },
    };
    Bun.connect({
      unix: socketPath,
      socket: {
        open(socket) {
          sock = socket;
          socket.write(request);
        },
        data(_socket, data) {
          if (upgraded) {
            handlers.onData(new Uint8Array(data));
            return;
          }
          head = Buffer.concat([head, data]);
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) return;
          const status = head.subarray(0, head.indexOf("\r\n")).toString();
          if (!/^HTTP\/1\.[01] (101|200)/.test(status)) {
            reject(new DockerError(Number(status.split(" ")[1]) || 500, status, "exec start"));
            sock?.end();
            return;
          }
          upgraded = true;
          resolve(stream);
          const rest = head.subarray(end + 4);
          if (rest.length) handlers.onData(new Uint8Array(rest));
        },
        drain() {
          flush();
        },
        close() {
          closed = true;
          if (!upgraded) reject(new DockerError(502, "the engine closed the exec stream", "exec start"));
          handlers.onClose();
        },
        error(_socket, error) {
          if (!upgraded) reject(new DockerError(503, error.message, "exec start"));
        },
      },
    }).catch((error: Error) => reject(new DockerError(503, error.message, "exec start")));
  });
}
