// The agent's WebSocket splice (agent/splice.ts) on real loopback sockets: one pair stands for the
// server's TLS connection, one for the container's. Bytes pass both ways unchanged; a shut of the
// agent's own (freeze, removal) waits for the frame under way and sends each side a close frame; a
// frame past the cap from the container cuts the link.
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import {
  concatBytes,
  type EndpointData,
  endpointHandlers,
  type SpliceSocket,
  WsSplice,
} from "../../agent/splice.ts";
import { MAX_FRAME } from "../../common/ws_relay.ts";
import { waitFor } from "../helpers/wait.ts";

type Far = { socket: Socket<undefined>; received: () => Uint8Array; ended: () => boolean };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A connected pair on 127.0.0.1: the near end for the splice, the far end for the test to drive. */
async function pair(): Promise<{ near: SpliceSocket; far: Far }> {
  let near: SpliceSocket | null = null;
  const listener = Bun.listen<EndpointData>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      ...endpointHandlers,
      open(socket) {
        socket.data = {};
        near = socket;
      },
    },
  });
  cleanups.push(() => listener.stop(true));
  const chunks: Uint8Array[] = [];
  let ended = false;
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: listener.port,
    socket: {
      data(_s, chunk) {
        chunks.push(new Uint8Array(chunk));
      },
      close() {
        ended = true;
      },
    },
  });
  cleanups.push(() => socket.terminate());
  await waitFor(
    "the near end",
    async () => near,
    (s) => s !== null,
    2000,
    5,
  );
  const received = () => {
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  };
  return { near: near as unknown as SpliceSocket, far: { socket, received, ended: () => ended } };
}

/** An unmasked binary frame (as a container sends) of `length` bytes of `fill`. */
function frame(length: number, fill: number): Uint8Array {
  const head =
    length < 126 ? Uint8Array.of(0x82, length) : Uint8Array.of(0x82, 126, length >> 8, length & 0xff);
  const out = new Uint8Array(head.byteLength + length).fill(fill);
  out.set(head);
  return out;
}

async function spliced() {
  const server = await pair();
  const container = await pair();
  let ended = 0;
  let tooLarge = 0;
  const splice = new WsSplice(server.near, container.near, {
    onEnd: () => ended++,
    onTooLarge: () => tooLarge++,
  });
  splice.start(new Uint8Array(0), new Uint8Array(0));
  return {
    server: server.far,
    container: container.far,
    splice,
    ended: () => ended,
    tooLarge: () => tooLarge,
  };
}

describe("the agent's WebSocket splice", () => {
  test("bytes pass both ways unchanged, and a close from either end reaches the other", async () => {
    const { server, container, ended } = await spliced();
    const fromContainer = frame(3000, 7);
    container.socket.write(fromContainer);
    server.socket.write(Uint8Array.of(1, 2, 3, 4, 5));
    await waitFor(
      "both ways",
      async () => server.received().byteLength + container.received().byteLength,
      (n) => n === 3009,
      3000,
      5,
    );
    expect(server.received()).toEqual(fromContainer);
    expect(Array.from(container.received())).toEqual([1, 2, 3, 4, 5]);
    container.socket.end();
    await waitFor(
      "the server's side to end",
      async () => server.ended(),
      (e) => e,
      3000,
      5,
    );
    await waitFor(
      "the splice to end",
      async () => ended(),
      (n) => n === 1,
      3000,
      5,
    );
  });

  test("a shut in the middle of a frame lets that frame finish, then closes both sides with the code", async () => {
    const { server, container, splice, ended } = await spliced();
    const first = frame(1000, 1);
    container.socket.write(first.subarray(0, 400));
    await waitFor(
      "part of the frame",
      async () => server.received().byteLength,
      (n) => n === 400,
      3000,
      5,
    );
    splice.shut(1001, "the container was frozen");
    // The rest of the frame, and a frame after it that must not pass.
    container.socket.write(concatBytes(first.subarray(400), frame(50, 2)));
    await waitFor(
      "the server's side to end",
      async () => server.ended(),
      (e) => e,
      3000,
      5,
    );
    const got = server.received();
    expect(got.subarray(0, first.byteLength)).toEqual(first);
    const close = got.subarray(first.byteLength);
    expect(close[0]).toBe(0x88);
    expect(new DataView(close.buffer, close.byteOffset).getUint16(2)).toBe(1001);
    expect(new TextDecoder().decode(close.subarray(4))).toBe("the container was frozen");
    expect(close.byteLength).toBe(4 + "the container was frozen".length);
    // The container, between two frames of the server's, got a masked close and its socket ended.
    await waitFor(
      "the container's side to end",
      async () => container.ended(),
      (e) => e,
      3000,
      5,
    );
    const toContainer = container.received();
    expect(toContainer[0]).toBe(0x88);
    expect((toContainer[1] as number) & 0x80).toBe(0x80);
    expect(ended()).toBe(1);
  });

  test("a shut that never sees the frame end cuts the link after its grace", async () => {
    const { server, container, splice, ended } = await spliced();
    container.socket.write(frame(1000, 1).subarray(0, 10));
    await waitFor(
      "part of the frame",
      async () => server.received().byteLength,
      (n) => n === 10,
      3000,
      5,
    );
    splice.shut(1001, "the container was removed");
    await waitFor(
      "the cut",
      async () => server.ended() && container.ended(),
      (e) => e,
      5000,
      20,
    );
    // No close frame could be put in the middle of a frame: the server's side only saw the part.
    expect(server.received().byteLength).toBe(10);
    expect(ended()).toBe(1);
  });

  test("a frame past the cap from the container cuts the link before its header passes", async () => {
    const { server, container, ended, tooLarge } = await spliced();
    const small = frame(100, 3);
    container.socket.write(small);
    await waitFor(
      "the small frame",
      async () => server.received().byteLength,
      (n) => n === small.byteLength,
      3000,
      5,
    );
    const length = MAX_FRAME + 1;
    container.socket.write(
      Uint8Array.of(
        0x82,
        127,
        0,
        0,
        0,
        0,
        length >>> 24,
        (length >>> 16) & 0xff,
        (length >>> 8) & 0xff,
        length & 0xff,
      ),
    );
    await waitFor(
      "the cut",
      async () => server.ended() && container.ended(),
      (e) => e,
      3000,
      5,
    );
    expect(server.received()).toEqual(small);
    expect(tooLarge()).toBe(1);
    expect(ended()).toBe(1);
  });
});
