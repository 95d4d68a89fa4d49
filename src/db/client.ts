// Opens the database: embedded PGlite in the data dir by default, postgres.js when DATABASE_URL is set.
// Both give the same drizzle API over the same schema.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import initdbWasmPath from "../../node_modules/@electric-sql/pglite/dist/initdb.wasm" with { type: "file" };
import pgliteDataPath from "../../node_modules/@electric-sql/pglite/dist/pglite.data" with { type: "file" };
import pgliteWasmPath from "../../node_modules/@electric-sql/pglite/dist/pglite.wasm" with { type: "file" };
import * as schema from "./schema.ts";

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type DbDriver = "pglite" | "postgres";

export type Database = {
  db: Db;
  driver: DbDriver;
  /**
   * One parameterised statement straight on the driver, for the per-request hot path (src/http/
   * rate_limit.ts): it skips drizzle's query building and, on PGlite, the per-query copy of the whole
   * type-parser map that drizzle's parsers cause (docs/BENCHMARKS.md). Everything else uses `db`.
   */
  query<T>(text: string, params: unknown[]): Promise<T[]>;
  /** Tries to become the one holder of a cluster-wide advisory lock; see src/db/leader.ts. */
  tryLock(key: number): Promise<HeldLock | null>;
  /** LISTENs on a channel (NOTIFY from any process on this database); returns the UNLISTEN. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
};

export type HeldLock = { release(): Promise<void>; alive(): Promise<boolean> };

/** Where the embedded database lives in the data dir. */
export function pgliteDir(dataDir: string): string {
  return join(dataDir, "pglite");
}

async function openPglite(dataDir: string | null): Promise<Database> {
  // The wasm and data bundle are embedded in the compiled binary, so nothing is read from node_modules.
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
    WebAssembly.compile(await Bun.file(pgliteWasmPath).arrayBuffer()),
    WebAssembly.compile(await Bun.file(initdbWasmPath).arrayBuffer()),
  ]);
  // The file itself as the Blob: PGlite keeps the bundle it was given, and a copy would stay resident.
  const fsBundle = Bun.file(pgliteDataPath);
  let path: string | undefined;
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    path = pgliteDir(dataDir);
  }
  const client = await PGlite.create({
    dataDir: path,
    pgliteWasmModule,
    initdbWasmModule,
    fsBundle,
    postgresqlconf: PGLITE_SETTINGS,
  });
  await releaseStartupGarbage();
  // One embedded database belongs to one process: every lock is ours.
  return {
    db: drizzlePglite(client, { schema }) as unknown as Db,
    driver: "pglite",
    query: async <T>(text: string, params: unknown[]) => (await client.query<T>(text, params)).rows,
    tryLock: async () => ({ release: async () => {}, alive: async () => !client.closed }),
    listen: (channel, onPayload) => client.listen(channel, onPayload),
    close: () => client.close(),
  };
}

/**
 * Ten connections; each leader loop (src/db/leader.ts) keeps one of them reserved for its advisory
 * lock. Seven (the loops' three plus four) cost ~20 % less CPU per authenticated request on two cores,
 * but the chaos test (test/sessions/chaos.test.ts: PostgreSQL cut mid-spawn) then left a spawn waiting
 * for a connection in one run of two; with ten it converged in every run (docs/DATABASE.md).
 */
const POOL_SIZE = 10;
/** How long giving back an advisory lock may take before it is left to finish in the background. */
const UNLOCK_WAIT_MS = 3000;

async function openPostgres(url: string): Promise<Database> {
  const client = postgres(url, { max: POOL_SIZE, onnotice: () => {}, connect_timeout: 10 });
  return {
    db: drizzlePostgres(client, { schema }) as unknown as Db,
    driver: "postgres",
    query: async <T>(text: string, params: unknown[]) =>
      (await client.unsafe(text, params as never[], { prepare: true })) as unknown as T[],
    async tryLock(key) {
      // A session-level advisory lock lives on one connection: reserve it for as long as we hold it.
      // If this process dies, PostgreSQL drops the connection and the lock with it.
      const conn = await client.reserve();
      try {
        const [row] = await conn`select pg_try_advisory_lock(${key}) as ok`;
        if (!row?.ok) {
          conn.release();
          return null;
        }
      } catch (error) {
        conn.release();
        throw error;
      }
      return {
        async release() {
          // On a connection that went silent (its peer gone without a reset) the unlock would wait
          // for keepalives to notice, and a shutdown with it. After UNLOCK_WAIT_MS it is left to
          // finish or fail on its own; the connection goes back to the pool only then, and if it
          // died, PostgreSQL dropped the lock with it.
          const unlocked = conn`select pg_advisory_unlock(${key})`
            .catch(() => {})
            .finally(() => conn.release());
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([unlocked, new Promise((done) => (timer = setTimeout(done, UNLOCK_WAIT_MS)))]);
          clearTimeout(timer);
        },
        alive: () =>
          conn`select 1`.then(
            () => true,
            () => false,
          ),
      };
    },
    async listen(channel, onPayload) {
      // postgres.js keeps one dedicated connection for LISTEN and listens again after a reconnect.
      const { unlisten } = await client.listen(channel, onPayload);
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * PGlite's wasm heap holds PostgreSQL's shared buffers, 128 MB by default, most of which an embedded
 * control-plane database (a few thousand rows) never uses, and PGlite touches all of them when it
 * starts: 16 MB took an opened database from ~300 MiB resident to ~147, 4 MB takes ~12 MiB more off.
 * Pages that do not fit are read again from the data dir through the kernel's page cache
 * (docs/DATABASE.md).
 */
const PGLITE_SETTINGS = ["shared_buffers=4MB", "work_mem=2MB", "maintenance_work_mem=16MB"];

/**
 * Opening PGlite leaves hundreds of MiB of garbage: a new database is made by a second PGlite instance
 * (initdb) with its own 128 MiB wasm memory and a copy of the data bundle, and the compiled modules'
 * bytes are read whole. Nothing collects it while the server idles, so a fresh server sat at ~590 MiB
 * resident. Two full collections an event-loop turn apart (the second frees what the first's
 * finalizers let go) bring it to ~200 MiB (docs/BENCHMARKS.md). Here, and once more when the server
 * has started (migrations and building the app leave their own).
 */
export async function releaseStartupGarbage() {
  Bun.gc(true);
  await Bun.sleep(0);
  Bun.gc(true);
  Bun.shrink();
}

/** `dataDir` null means an in-memory PGlite (tests). */
export function openDatabase(opts: {
  databaseUrl: string | null;
  dataDir: string | null;
}): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openPglite(opts.dataDir);
}

/** drizzle's `execute` returns `{rows}` on PGlite and an array on postgres.js. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}
