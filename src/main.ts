#!/usr/bin/env bun
import { ConfigError } from "../common/config_error.ts";
import { createLogger } from "../common/log.ts";
import { ADMIN_CREATE_HELP, runAdminCreate } from "./cli/admin_create.ts";
import { UsageError, wantsHelp } from "./cli/args.ts";
import { runBackupCommand } from "./cli/backup_command.ts";
import { INVITES_HELP, runInvites } from "./cli/invites.ts";
import { KEYS_HELP, runKeysRotate } from "./cli/keys_rotate.ts";
import { NODES_HELP, runNodes } from "./cli/nodes.ts";
import { runUsers, USERS_HELP } from "./cli/users.ts";
import { loadServerConfig } from "./config.ts";
import { isDatabaseDriverGlitch } from "./db/availability.ts";
import { UserError } from "./errors.ts";
import { startServer } from "./server.ts";

const USAGE = `clawfleet — one private, hardened AI-agent container per user

Usage: clawfleet <command> [flags]

Commands:
  serve           start the console and API (PGlite in ./data unless DATABASE_URL is set)
  migrate         apply database migrations and exit
  admin create    create an administrator account
  nodes           add, list, drain, activate or remove fleet nodes
  invites         create, list or revoke signup invite links (CLAWFLEET_SIGNUP=invite)
  keys rotate     re-encrypt every stored provider key under the newest master key
  users           print a password-reset link for a user, or change a user's plan
  backup          write an encrypted dump of the database (--out FILE)
  restore         load an encrypted dump into an empty database (--in FILE)

Every command takes --help. Flags mirror the environment: --port, --data-dir, --database-url,
--public-url, --log-level … (see README.md for the full table).
`;

const SERVE_HELP = `Usage: clawfleet serve [--port N] [--data-dir DIR] [--database-url URL] …

Starts the console and the JSON API. With no configuration: PGlite in ./data, a master key generated
into ./data, port 3000.
`;

const MIGRATE_HELP = `Usage: clawfleet migrate

Applies the embedded database migrations (they also run at every start) and exits.
`;

const BACKUP_HELP = `Usage: clawfleet backup --out FILE
       clawfleet restore --in FILE

backup writes every table, gzipped and encrypted (AES-256-GCM) under a key derived from the newest
master key. restore needs the same master keyring and an empty (new) database.
`;

const readStdin = () => new Response(Bun.stdin.stream()).text();

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const out = (text: string) => process.stdout.write(text);
  if (!command || command === "--help" || command === "-h" || command === "help") {
    out(USAGE);
    return command ? 0 : 2;
  }
  const help: Record<string, string> = {
    serve: SERVE_HELP,
    migrate: MIGRATE_HELP,
    admin: ADMIN_CREATE_HELP,
    nodes: NODES_HELP,
    invites: INVITES_HELP,
    keys: KEYS_HELP,
    users: USERS_HELP,
    backup: BACKUP_HELP,
    restore: BACKUP_HELP,
  };
  if (wantsHelp(args) && help[command]) {
    out(help[command] ?? "");
    return 0;
  }
  const config = loadServerConfig(process.env, args);
  const log = createLogger(config.logLevel);
  switch (command) {
    case "serve": {
      // postgres.js can surface a dropped connection (PostgreSQL restarting, a network cut) as an
      // uncaught socket error. The server answers 503 meanwhile and reconnects on its own, so that one
      // kind of error must not take the process down; anything else still does.
      const survive = (error: unknown) => {
        if (isDatabaseDriverGlitch(error)) {
          log.warn("database connection lost; requests get 503 until it is back", { error });
          return;
        }
        log.error("fatal error", { error });
        process.exit(1);
      };
      process.on("uncaughtException", survive);
      process.on("unhandledRejection", survive);
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
      const { migrate } = await import("./db/migrate.ts");
      const { openDatabase } = await import("./db/client.ts");
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const applied = await migrate(database.db);
        out(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
      } finally {
        await database.close();
      }
      return 0;
    }
    case "admin": {
      if (args[0] !== "create") throw new UsageError("unknown admin command (see clawfleet admin --help)");
      out(await runAdminCreate(config, args.slice(1), readStdin));
      return 0;
    }
    case "nodes":
      out(await runNodes(config, args));
      return 0;
    case "invites":
      out(await runInvites(config, args));
      return 0;
    case "keys":
      out(await runKeysRotate(config, args));
      return 0;
    case "users":
      out(await runUsers(config, args));
      return 0;
    case "backup":
    case "restore":
      out(await runBackupCommand(command, config, args));
      return 0;
    default:
      throw new UsageError(`unknown command "${command}" (see clawfleet --help)`);
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
    // A refusal of the user's input, whichever service raised it, is a usage error (EX_USAGE).
    if (error instanceof UsageError || (error instanceof UserError && error.status < 500)) {
      process.stderr.write(`clawfleet: ${error.message}\n`);
      process.exit(64);
    }
    process.stderr.write(`clawfleet: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
