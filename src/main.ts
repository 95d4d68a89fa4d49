#!/usr/bin/env bun
import { ConfigError, loadServerConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { startServer } from "./server.ts";

const USAGE = `clawfleet — one private, hardened AI-agent container per user

Usage: clawfleet <command> [flags]

Commands:
  serve      start the console and API (PGlite in ./data unless DATABASE_URL is set)
  migrate    apply database migrations and exit

Flags mirror the environment: --port, --data-dir, --database-url, --public-url, --log-level …
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const config = loadServerConfig(process.env, args);
  const log = createLogger(config.logLevel);
  switch (command) {
    case "serve": {
      const server = await startServer(config, log);
      const shutdown = async (signal: string) => {
        log.info("shutting down", { signal });
        await server.stop();
        process.exit(0);
      };
      process.on("SIGTERM", () => void shutdown("SIGTERM"));
      process.on("SIGINT", () => void shutdown("SIGINT"));
      return -1;
    }
    case "migrate": {
      const { openDatabase } = await import("./db/client.ts");
      const { migrate } = await import("./db/migrate.ts");
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      const applied = await migrate(database.db);
      await database.close();
      process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
      return 0;
    }
    default:
      process.stderr.write(`clawfleet: unknown command "${command}" (see clawfleet --help)\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`clawfleet: ${error.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`clawfleet: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
