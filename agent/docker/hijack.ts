// Hijacked Engine API streams (exec start, container attach). Docker answers such a request with
// `101 UPGRADED` and from then on the unix socket carries the process's raw bytes both ways; with a
// TTY there is no stdout/stderr multiplexing. Bun's fetch cannot hand over an upgraded connection, so
// this speaks HTTP/1.1 by hand over Bun.connect. Flow control is explicit: `write` says when the
// engine is not keeping up (wait for `onDrain`), and `pause`/`resume` stop reading from the engine.
import type { Socket } from "bun";
import { DOCKER_API_VERSION, DockerError } from "./client.ts";

export type HijackHandlers = {
  onData(data: Uint8Array): void;
  onClose(): void;
  /** The engine took everything `write` had queued. */
  onDrain?(): void;
};

export type HijackedStream = {
  /** Sends bytes to the process; false when they had to be queued (wait for onDrain). */
  write(data: Uint8Array | string): boolean;
  pause(): void;
  resume(): void;
  close(): void;
};

type Request = { operation: string; path: string; query?: Record<string, string>; body?: unknown };

export function hijack(
  socketPath: string,
  request: Request,
  handlers: HijackHandlers,
): Promise<HijackedStream> {
  const body = request.body === undefined ? "" : JSON.stringify(request.body);
  const query = request.query ? `?${new URLSearchParams(request.query)}` : "";
  const head =
    `POST /${DOCKER_API_VERSION}${request.path}${query} HTTP/1.1\r\nHost: docker\r\n` +
    `Content-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

  return new Promise((resolve, reject) => {
    let response = Buffer.alloc(0);
    let upgraded = false;
    let closed = false;
    let sock: Socket<undefined> | null = null;
    const queue: Uint8Array[] = [];

    const flush = (): boolean => {
      while (sock && queue.length) {
        const chunk = queue[0] as Uint8Array;
        const wrote = sock.write(chunk);
        if (wrote < chunk.byteLength) {
          queue[0] = chunk.subarray(Math.max(0, wrote));
          return false;
        }
        queue.shift();
      }
      return queue.length === 0;
    };
    const fail = (status: number, message: string) => {
      reject(new DockerError(status, message, request.operation));
    };

    const stream: HijackedStream = {
      write(data) {
        if (closed) return true;
        queue.push(typeof data === "string" ? Buffer.from(data) : data);
        return flush();
      },
      pause: () => sock?.pause(),
      resume: () => sock?.resume(),
      close() {
        if (!closed) sock?.end();
      },
    };

    Bun.connect({
      unix: socketPath,
      socket: {
        open(socket) {
          sock = socket;
          socket.write(head);
        },
        data(_socket, data) {
          if (upgraded) {
            handlers.onData(new Uint8Array(data));
            return;
          }
          response = Buffer.concat([response, data]);
          const end = response.indexOf("\r\n\r\n");
          if (end < 0) return;
          const statusLine = response.subarray(0, response.indexOf("\r\n")).toString();
          const status = Number(statusLine.split(" ")[1]) || 500;
          if (status !== 101 && status !== 200) {
            const rest = response.subarray(end + 4).toString();
            let message = statusLine;
            try {
              message =
                (JSON.parse(rest.slice(rest.indexOf("{"))) as { message?: string }).message ?? message;
            } catch {}
            fail(status, message);
            sock?.end();
            return;
          }
          upgraded = true;
          resolve(stream);
          const rest = response.subarray(end + 4);
          if (rest.length) handlers.onData(new Uint8Array(rest));
        },
        drain() {
          if (flush()) handlers.onDrain?.();
        },
        close() {
          closed = true;
          if (!upgraded) fail(502, "the engine closed the stream before upgrading it");
          else handlers.onClose();
        },
        error(_socket, error) {
          if (!upgraded) fail(503, error.message);
        },
      },
    }).catch((error: Error) =>
      fail(503, `the Docker engine at ${socketPath} is not reachable (${error.message})`),
    );
  });
}

/** Starts an exec created with Tty: true and returns its raw stream. */
export function startExec(socketPath: string, execId: string, handlers: HijackHandlers) {
  return hijack(
    socketPath,
    { operation: "exec start", path: `/exec/${execId}/start`, body: { Detach: false, Tty: true } },
    handlers,
  );
}

/** Attaches to a running container's stdio (raw when it was created with Tty: true). */
export function attachContainer(socketPath: string, containerId: string, handlers: HijackHandlers) {
  return hijack(
    socketPath,
    {
      operation: "container attach",
      path: `/containers/${containerId}/attach`,
      query: { stream: "1", stdin: "1", stdout: "1", stderr: "1" },
    },
    handlers,
  );
}
