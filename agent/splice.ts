// Bytes between two sockets, both ways, with back-pressure passed through: what one side's socket did
// not take is held (one read's worth) and the other side is not read until it drains. The agent's
// front (front.ts) joins the server's TLS socket this way to its internal API server, and, after a
// signed upgrade, to a container's WebSocket (WsSplice): the frames pass through as the server's
// WebSocket client wrote them and as the container answered, never decoded, re-framed or copied into
// JavaScript messages. Only frame headers are followed (ws_frames.ts), for the cap and for closes of
// the agent's own (freeze, removal) between two frames.
import type { Socket } from "bun";
import { MAX_FRAME } from "../common/ws_relay.ts";
import type { Shuttable } from "./open_sockets.ts";
import { closeFrame, FrameTracker } from "./ws_frames.ts";

/** What a socket's handlers forward to, set on `socket.data`. */
export interface Endpoint {
  data(chunk: Uint8Array): void;
  drain(): void;
  closed(): void;
}
export type EndpointData = { endpoint?: Endpoint };
export type SpliceSocket = Socket<EndpointData>;

/** Handlers for Bun.listen / Bun.connect whose sockets carry an Endpoint. */
export const endpointHandlers = {
  data(socket: SpliceSocket, chunk: Uint8Array) {
    socket.data.endpoint?.data(chunk);
  },
  drain(socket: SpliceSocket) {
    socket.data.endpoint?.drain();
  },
  close(socket: SpliceSocket) {
    socket.data.endpoint?.closed();
  },
  end(socket: SpliceSocket) {
    socket.end();
  },
  error() {},
};

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a);
  joined.set(b, a.byteLength);
  return joined;
}

/** One way of a splice: writes into `to` what was read from `from`. */
export class Direction {
  private backlog: Uint8Array | null = null;
  private ending = false;
  ended = false;

  constructor(
    private readonly from: SpliceSocket,
    private readonly to: SpliceSocket,
  ) {}

  push(chunk: Uint8Array) {
    if (this.ended || chunk.byteLength === 0) return;
    if (this.backlog) {
      this.backlog = concatBytes(this.backlog, chunk);
      this.from.pause();
      return;
    }
    const written = Math.max(0, this.to.write(chunk));
    if (written < chunk.byteLength) {
      // The chunk is Bun's read buffer: what is kept past this call must be a copy.
      this.backlog = chunk.slice(written);
      this.from.pause();
    }
  }

  drain() {
    if (!this.backlog) return;
    const written = Math.max(0, this.to.write(this.backlog));
    if (written < this.backlog.byteLength) {
      this.backlog = this.backlog.subarray(written);
      return;
    }
    this.backlog = null;
    if (this.ending) this.finish();
    else this.from.resume();
  }

  /** Ends `to` once what it still owes is written. */
  end() {
    if (this.ended) return;
    this.ending = true;
    if (!this.backlog) this.finish();
  }

  private finish() {
    this.ended = true;
    this.to.end();
  }
}

/** Joins two sockets both ways; `onEnd` once both have closed. */
export function spliceSockets(a: SpliceSocket, b: SpliceSocket, onEnd: () => void = () => {}) {
  const aToB = new Direction(a, b);
  const bToA = new Direction(b, a);
  let open = 2;
  const closed = (outgoing: Direction) => {
    outgoing.end();
    if (--open === 0) onEnd();
  };
  a.data.endpoint = {
    data: (chunk) => aToB.push(chunk),
    drain: () => bToA.drain(),
    closed: () => closed(aToB),
  };
  b.data.endpoint = {
    data: (chunk) => bToA.push(chunk),
    drain: () => aToB.drain(),
    closed: () => closed(bToA),
  };
}

/** How long a shut waits for the frame under way to end before it cuts the link. */
const SHUT_GRACE_MS = 2000;

/**
 * A WebSocket spliced between the server (the agent is its WebSocket server) and a container (the
 * agent is its client). Closes the ends send each other pass through; a shut of the agent's own sends
 * each side a close frame between two frames, masked toward the container as a client's must be.
 */
export class WsSplice implements Shuttable {
  private readonly toServer: Direction;
  private readonly toContainer: Direction;
  private readonly fromContainer = new FrameTracker(MAX_FRAME);
  private readonly fromServer = new FrameTracker(Number.MAX_SAFE_INTEGER);
  private shutting: {
    code: number;
    reason: string;
    closeContainer: boolean;
    timer: ReturnType<typeof setTimeout>;
  } | null = null;
  private open = 2;
  private done = false;

  constructor(
    private readonly server: SpliceSocket,
    private readonly container: SpliceSocket,
    private readonly opts: { onEnd(): void; onTooLarge(): void },
  ) {
    this.toServer = new Direction(container, server);
    this.toContainer = new Direction(server, container);
    server.data.endpoint = {
      data: (chunk) => this.fromServerData(chunk),
      drain: () => this.toServer.drain(),
      closed: () => this.closed(this.toContainer),
    };
    container.data.endpoint = {
      data: (chunk) => this.fromContainerData(chunk),
      drain: () => this.toContainer.drain(),
      closed: () => this.closed(this.toServer),
    };
  }

  /** Bytes of either side that came before the splice was made (after the heads). */
  start(fromServer: Uint8Array, fromContainer: Uint8Array) {
    this.fromServerData(fromServer);
    this.fromContainerData(fromContainer);
  }

  private fromServerData(chunk: Uint8Array) {
    if (this.shutting) return;
    this.fromServer.advance(chunk);
    this.toContainer.push(chunk);
  }

  private fromContainerData(chunk: Uint8Array) {
    if (this.done) return;
    const passing = this.fromContainer.advance(chunk, this.shutting !== null);
    if (passing === "too_large") {
      this.opts.onTooLarge();
      return this.cut();
    }
    this.toServer.push(passing === chunk.byteLength ? chunk : chunk.subarray(0, passing));
    if (this.shutting && this.fromContainer.atBoundary) this.closeBothSides();
  }

  shut(code: number, reason: string) {
    if (this.done || this.shutting) return;
    // The server's frames stop here: a close goes to the container only if none was under way.
    const closeContainer = this.fromServer.atBoundary;
    this.shutting = { code, reason, closeContainer, timer: setTimeout(() => this.cut(), SHUT_GRACE_MS) };
    // Else the container's frame under way passes first (fromContainerData closes at its end).
    if (this.fromContainer.atBoundary) this.closeBothSides();
  }

  private closeBothSides() {
    const shutting = this.shutting;
    if (!shutting) return;
    clearTimeout(shutting.timer);
    // Both close frames before either end: ending one socket may close it at once, and with it the other.
    this.toServer.push(closeFrame(shutting.code, shutting.reason, "server"));
    if (shutting.closeContainer) this.toContainer.push(closeFrame(shutting.code, shutting.reason, "client"));
    this.toServer.end();
    this.toContainer.end();
  }

  /** Ends both sockets at once (a frame past the cap, or a shut that found no frame end in time). */
  private cut() {
    if (this.done) return;
    this.server.terminate();
    this.container.terminate();
    this.finish();
  }

  private closed(outgoing: Direction) {
    if (outgoing === this.toServer && this.shutting && this.fromContainer.atBoundary) this.closeBothSides();
    outgoing.end();
    if (--this.open === 0) this.finish();
  }

  private finish() {
    if (this.done) return;
    this.done = true;
    if (this.shutting) clearTimeout(this.shutting.timer);
    this.opts.onEnd();
  }
}
