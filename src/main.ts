#!/usr/bin/env bun
import { ConfigError } from "../common/config_error.ts";
import { createLogger } from "../common/log.ts";
import { ADMIN_CREATE_HELP } from "./cli/admin_create.ts";
import { forwardToServer, startAdminSocket } from "./cli/admin_socket.ts";
import { UsageError, wantsHelp } from "./cli/args.ts";
import { runCommand } from "./cli/commands.ts";
import { INVITES_HELP } from "./cli/invites.ts";
import { KEYS_HELP } from "./cli/keys_rotate.ts";
import { NODES_HELP } from "./cli/nodes.ts";
import { USERS_HELP } from "./cli/users.ts";
import { loadServerConfig } from "./config.ts";
import { isDatabaseDriverGlitch } from "./db/availability.ts";
import { makeEmbeddedDatabaseApart } from "./db/embedded_first_start.ts";
import { UserError } from "./errors.ts";
import { liveLimitsFor } from "./http/admin_users_plan.ts";
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
      if (!config.databaseUrl) await makeEmbeddedDatabaseApart(config.dataDir, log);
      const server = await startServer(config, log);
      const adminSocket = await startAdminSocket(
        config,
        server.ctx.database.db,
        log,
        liveLimitsFor(server.ctx, server.lifecycle),
      );
      const shutdown = async (signal: string) => {
        log.info("shutting down", { signal });
        adminSocket.stop();
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
    default: {
      // While `serve` runs (the embedded database is then its alone), commands go through its admin
      // socket in the data dir; otherwise they open the database here.
      const forwarded = await forwardToServer(config, command, args, readStdin);
      if (!forwarded) {
        out(await runCommand(config, command, args, readStdin));
        return 0;
      }
      if (forwarded.code === 0) out(forwarded.output);
      else process.stderr.write(`clawfleet: ${forwarded.output}\n`);
      return forwarded.code;
    }
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
