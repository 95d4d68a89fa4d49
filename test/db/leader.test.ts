// The leader loop (src/db/leader.ts) against a real PostgreSQL: a lock attempt given up at its
// deadline (the pool had no free connection, as during an outage) must not keep the lock once it
// gets its connection later, or no replica could ever become the leader again.
import { afterAll, expect, test } from "bun:test";
import { createLogger } from "../../common/log.ts";
import type { HeldLock } from "../../src/db/client.ts";
import { startLeaderLoop } from "../../src/db/leader.ts";
import { freshDatabase, type TestDatabase } from "../helpers/db.ts";
import { startTcpProxy } from "../helpers/tcp_proxy.ts";

const KEY = 7_140_999;
const opened: TestDatabase[] = [];
afterAll(async () => {
  for (const database of opened) await database.drop().catch(() => {});
});

test("a lock attempt abandoned at its deadline gives the lock back when it arrives late", async () => {
  const database = await freshDatabase("postgres", { migrated: false });
  opened.push(database);
  // Every pooled connection busy (each holding a lock of its own): the loop's attempt must wait.
  const held: HeldLock[] = [];
  for (let i = 0; i < 10; i++) {
    const lock = await database.tryLock(KEY + 1 + i);
    if (!lock) throw new Error("could not fill the pool");
    held.push(lock);
  }
  const loop = startLeaderLoop(database, {
    name: "test",
    key: KEY,
    intervalMs: 60_000,
    lockTimeoutMs: 200,
    log: createLogger("error", {}),
    tick: async () => {},
  });
  try {
    await loop.runOnce();
    expect(loop.isLeader()).toBe(false);
    // The pool frees up: the abandoned attempt now gets a connection and the lock.
    for (const lock of held) await lock.release();
    // Another replica (its own pool) must be able to take the lock once the late one is given back.
    await expectAnotherReplicaLeads(database.url);
  } finally {
    await loop.stop();
  }
});

test("stopping a leader whose database connection went silent finishes, and the lock is given back", async () => {
  const database = await freshDatabase("postgres", { migrated: false });
  opened.push(database);
  const target = new URL(database.url ?? "");
  const proxy = startTcpProxy(Number(target.port));
  target.port = String(proxy.port);
  const replica = await freshOther(target.toString());
  const loop = startLeaderLoop(replica, {
    name: "test",
    key: KEY,
    intervalMs: 60_000,
    log: createLogger("error", {}),
    tick: async () => {},
  });
  try {
    await loop.runOnce();
    expect(loop.isLeader()).toBe(true);
    // The connection holding the lock stays open but nothing passes (a peer gone without a reset).
    proxy.freeze();
    const stopped = await Promise.race([
      loop.stop().then(() => "stopped"),
      Bun.sleep(15_000).then(() => "hung"),
    ]);
    expect(stopped).toBe("stopped");
    expect(loop.isLeader()).toBe(false);
  } finally {
    // Cutting the proxy ends the silent connection, so PostgreSQL lets the lock go: another replica
    // can lead.
    proxy.cut();
  }
  await expectAnotherReplicaLeads(database.url);
});

/** Another replica (its own pool) takes the lock within 2 s, then gives it back. */
async function expectAnotherReplicaLeads(url: string | null) {
  const other = await freshOther(url);
  let taken: HeldLock | null = null;
  for (let i = 0; i < 40 && !taken; i++) {
    taken = await other.tryLock(KEY);
    if (!taken) await Bun.sleep(50);
  }
  expect(taken).not.toBeNull();
  await taken?.release();
}

async function freshOther(url: string | null) {
  const { openDatabase } = await import("../../src/db/client.ts");
  const other = await openDatabase({ databaseUrl: url, dataDir: null });
  opened.push({ ...other, url, drop: () => other.close() });
  return other;
}
