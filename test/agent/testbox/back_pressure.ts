// The two back-pressure checks against a testbox container, for any path in front of it (the agent
// alone, or the server and the agent): a sender that is not read must stall, and nothing may be lost
// or reordered once it is read again.
import { expect } from "bun:test";
import { waitFor } from "../../helpers/wait.ts";

export type BoxStats = { received: number; floodSent: number; floodDone: boolean };
export type PausableSocket = WebSocket & { pause(): boolean; resume(): boolean };

/**
 * The box floods 100 MiB at a reader that does not read: it must stall far below the total, and
 * once the reader reads, every frame arrives, whole and in order.
 */
export async function expectSlowReaderStallsBox(
  ws: PausableSocket,
  boxStats: () => Promise<BoxStats>,
  everyFrameMs: number,
) {
  const count = 1600;
  const size = 64 * 1024; // 100 MiB in all: far more than every socket buffer on the path holds
  const sequence: number[] = [];
  let bytes = 0;
  ws.onmessage = (e) => {
    const data = e.data as ArrayBuffer;
    bytes += data.byteLength;
    sequence.push(new DataView(data).getUint32(0));
  };
  ws.pause();
  ws.send(`!flood ${count} ${size}`);
  // The box sends until the path is full, then waits: its count stops moving, far below the total.
  // On a loaded machine the path fills slowly, so wait (bounded) for two readings that agree.
  let stalled = -1;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const before = (await boxStats()).floodSent;
    await Bun.sleep(500);
    stalled = (await boxStats()).floodSent;
    if (stalled === before && stalled > 0) break;
  }
  await Bun.sleep(500);
  expect((await boxStats()).floodSent).toBe(stalled);
  expect(stalled).toBeLessThan(count * 0.6);
  expect(sequence.length).toBe(0);
  ws.resume();
  await waitFor(
    "every frame",
    async () => sequence.length,
    (n) => n >= count,
    everyFrameMs,
    20,
  );
  expect(bytes).toBe(count * size);
  expect(sequence.every((n, i) => n === i)).toBe(true);
  expect((await boxStats()).floodDone).toBe(true);
  ws.close();
}

/**
 * The box stops reading while 96 MiB are sent to it: most of it must still wait on the sender's side
 * (more than `minBuffered` bytes), and all of it arrives once the box reads again.
 */
export async function expectSlowBoxStallsSender(
  ws: WebSocket,
  boxStats: () => Promise<BoxStats>,
  minBuffered: number,
) {
  ws.send("!sink");
  ws.send("!pause 2500");
  await Bun.sleep(100);
  const before = (await boxStats()).received;
  const chunk = new Uint8Array(1024 * 1024);
  for (let i = 0; i < 96; i++) ws.send(chunk);
  await Bun.sleep(1000);
  expect(ws.bufferedAmount).toBeGreaterThan(minBuffered);
  const stats = await waitFor(
    "the box to take everything",
    boxStats,
    (s) => s.received - before >= 96 * 1024 * 1024,
    30_000,
    50,
  );
  expect(stats.received - before).toBe(96 * 1024 * 1024);
  ws.close();
}
