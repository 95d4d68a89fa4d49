// The bulk case of bench/spawn_and_proxy.ts: 1 MiB binary frames echoed back, in MiB/s. The runtime's
// gateway caps frames at 256 KiB and answers only small JSON, so the far end here is an echo server
// the bench owns on 127.0.0.1; every hop in front of it (nginx, or server → agent) is the real one.

/** A WebSocket echo server on 127.0.0.1 (any path, any headers). */
export function startEchoServer() {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request, srv) {
      if (srv.upgrade(request)) return undefined;
      return new Response("ok");
    },
    websocket: {
      maxPayloadLength: 4 * 1024 * 1024,
      message(ws, message) {
        ws.send(message);
      },
    },
  });
  return { port: server.port as number, stop: () => server.stop(true) };
}

export const BULK_FRAME = 1024 * 1024;

/**
 * Sends `frames` frames of 1 MiB with at most `window` in flight and waits for every echo. Returns
 * MiB/s of echoed payload; bounded by `deadlineMs` (throws past it).
 */
export async function measureBulk(
  open: () => WebSocket,
  frames: number,
  window: number,
  deadlineMs: number,
): Promise<number> {
  const ws = open();
  ws.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("bulk socket failed to open"));
  });
  const payload = new Uint8Array(BULK_FRAME).fill(7);
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let received = 0;
    const timer = setTimeout(() => reject(new Error("bulk case exceeded its time bound")), deadlineMs);
    const pump = () => {
      while (sent < frames && sent - received < window) {
        ws.send(payload);
        sent++;
      }
    };
    ws.onmessage = (event) => {
      if ((event.data as ArrayBuffer).byteLength !== BULK_FRAME) {
        clearTimeout(timer);
        return reject(new Error("bulk echo returned a frame of the wrong size"));
      }
      if (++received === frames) {
        clearTimeout(timer);
        return resolve();
      }
      pump();
    };
    ws.onclose = (event) => {
      clearTimeout(timer);
      if (received < frames) reject(new Error(`bulk socket closed early (${event.code})`));
    };
    pump();
  });
  const seconds = (performance.now() - start) / 1000;
  ws.close();
  return (frames * BULK_FRAME) / (1024 * 1024) / seconds;
}
