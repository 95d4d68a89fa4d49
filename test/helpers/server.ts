// A real clawfleet server for tests, in this process, on either database driver, on a free port.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { createLogger, type LogFields } from "../../common/log.ts";
import { loadServerConfig } from "../../src/config.ts";
import type { DbDriver } from "../../src/db/client.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { createPgDatabase } from "./db.ts";
import { destroyVolumes } from "./fleet.ts";
import { keepAndSurface } from "./log_sink.ts";
import { freePort, tempDir } from "./process.ts";

export type TestServer = RunningServer & {
  driver: DbDriver;
  logs: string[];
  databaseUrl: string | null;
  close(): Promise<void>;
};

/** The largest volume a test server's plans ask for (see startTestServer). */
export const TEST_DISK_MB = 256;

export const TEST_MASTER_KEYS = `test1:${Buffer.alloc(32, 42).toString("base64")}`;

export async function startTestServer(
  driver: DbDriver,
  opts: { env?: Record<string, string>; databaseUrl?: string } = {},
): Promise<TestServer> {
  const dataDir = tempDir("cf-server");
  let databaseUrl: string | null = opts.databaseUrl ?? null;
  let drop = async () => {};
  if (driver === "postgres" && !databaseUrl) {
    const created = await createPgDatabase();
    databaseUrl = created.url;
    drop = created.drop;
  }
  const config = loadServerConfig({
    CLAWFLEET_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    HOST: "127.0.0.1",
    CLAWFLEET_MASTER_KEYS: TEST_MASTER_KEYS,
    DOCKER_SOCKET: "/nonexistent.sock",
    // Suites sign many accounts up from 127.0.0.1; the signup throttle has its own tests.
    CLAWFLEET_SIGNUP_LIMIT_PER_ADDRESS: "100000",
    CLAWFLEET_SIGNUP_LIMIT_GLOBAL: "100000",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  });
  const logs: string[] = [];
  const log = createLogger("debug", {} as LogFields, keepAndSurface(logs, "test server"));
  const server = await startServer(config, log);
  // Volumes are preallocated to the plan's disk (16 GiB for ultra): suites spawn many containers on a
  // machine whose free disk varies, so every plan gets a test-sized disk unless a test sets its own.
  if (!opts.databaseUrl)
    await server.ctx.database.db.execute(sql`update plans set disk_mb = least(disk_mb, ${TEST_DISK_MB})`);
  return {
    ...server,
    driver,
    logs,
    databaseUrl,
    async close() {
      await server.stop();
      await drop();
      // All-in-one: the local agent's volumes live in the server's data dir; never rm -rf a mount.
      await destroyVolumes(join(dataDir, "agent", "volumes"));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A small client that keeps cookies like a browser would, for the console's cookie flows. */
export class CookieClient {
  readonly jar = new Map<string, string>();
  constructor(
    readonly base: string,
    readonly origin = base,
  ) {}

  async fetch(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set("cookie", [...this.jar].map(([k, v]) => `${k}=${v}`).join("; "));
    if (init.method && init.method !== "GET") headers.set("origin", this.origin);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    const response = await fetch(`${this.base}${path}`, { ...init, headers, body, redirect: "manual" });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0\b/i.test(a.trim())) || value === "";
      if (expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  }
}

export async function json(response: Response): Promise<Record<string, any>> {
  return (await response.json()) as Record<string, any>;
}
