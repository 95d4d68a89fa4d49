// The one-shot administration commands, run the same way from a terminal (main.ts) and through the
// running server's admin socket (admin_socket.ts), so both give the same answers.
import type { ServerConfig } from "../config.ts";
import { runAdminCreate } from "./admin_create.ts";
import { UsageError } from "./args.ts";
import { runBackupCommand } from "./backup_command.ts";
import { runInvites } from "./invites.ts";
import { runKeysRotate } from "./keys_rotate.ts";
import { runNodes } from "./nodes.ts";
import { runUsers } from "./users.ts";

/** Commands that need the database the server holds; restore needs an empty one, so it never goes. */
export const FORWARDABLE = new Set(["admin", "nodes", "invites", "keys", "users", "backup"]);

export async function runCommand(
  config: ServerConfig,
  command: string,
  args: string[],
  readStdin: () => Promise<string>,
): Promise<string> {
  switch (command) {
    case "admin":
      if (args[0] !== "create") throw new UsageError("unknown admin command (see clawfleet admin --help)");
      return runAdminCreate(config, args.slice(1), readStdin);
    case "nodes":
      return runNodes(config, args);
    case "invites":
      return runInvites(config, args);
    case "keys":
      return runKeysRotate(config, args);
    case "users":
      return runUsers(config, args);
    case "backup":
    case "restore":
      return runBackupCommand(command, config, args);
    default:
      throw new UsageError(`unknown command "${command}" (see clawfleet --help)`);
  }
}
