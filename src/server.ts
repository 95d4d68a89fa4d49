import { deriveAuthKeys } from "./auth/keys.ts";
import { DEFAULT_SESSION_POLICY } from "./auth/refresh_tokens.ts";
import type { ServerConfig } from "./config.ts";
import type { AppContext } from "./context.ts";
import { openDatabase } from "./db/client.ts";
import { migrate } from "./db/migrate.ts";
import { buildApp } from "./http/app.ts";
import { createLogger, type Logger } from "./log.ts";
import { loadMasterKeyring } from "./secrets/master_keys.ts";

export type RunningServer = { url: string; ctx: AppContext; stop(): Promise<void> };

export async function startServer(
  config: ServerConfig,
  log: Logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const applied = await migrate(database.db);
  if (applied.length) log.info("migrations applied", { migrations: applied });
  const keyring = await loadMasterKeyring(config);
  const ctx: AppContext = {
    config,
    database,
    log,
    keyring,
    auth: {
      keys: await deriveAuthKeys(keyring.newestSecret),
      policy: { ...DEFAULT_SESSION_POLICY, ...config.session },
    },
  };
  const app = buildApp(ctx);
  const tls = config.tls ? { cert: Bun.file(config.tls.cert), key: Bun.file(config.tls.key) } : undefined;
  app.listen({ port: config.port, hostname: config.host, tls });
  const server = app.server;
  if (!server) throw new Error("server did not start");
  const scheme = tls ? "https" : "http";
  const url = `${scheme}://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${server.port}`;
  log.info("clawfleet listening", { url, database: database.driver, dataDir: config.dataDir });
  return {
    url,
    ctx,
    async stop() {
      await server.stop();
      await database.close();
    },
  };
}
