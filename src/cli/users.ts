import { audit } from "../audit.ts";
import { resetLinkFor } from "../auth/password_reset.ts";
import { setUserPlan } from "../auth/user_plans.ts";
import { findUserByEmail, normaliseEmail } from "../auth/users.ts";
import type { ServerConfig } from "../config.ts";
import type { Db } from "../db/client.ts";
import { UsageError } from "./args.ts";
import { servingLiveLimits, withDatabase } from "./database.ts";

export const USERS_HELP = `Usage: clawfleet users reset-link EMAIL
       clawfleet users plan EMAIL PLAN

reset-link  prints a password-reset link (single use, 30 minutes) to hand to the user yourself, for
            servers without SMTP. Links start with CLAWFLEET_PUBLIC_URL: set it.
plan        moves the user to another plan (free, pro, ultra or one you added). The API rate limit
            follows at once; a running container gets the new limits at its next spawn.
`;

async function userByEmail(db: Db, raw: string | undefined) {
  const email = raw ? normaliseEmail(raw) : null;
  if (!email) throw new UsageError("give the user's email address (see clawfleet users --help)");
  const user = await findUserByEmail(db, email);
  if (!user) throw new UsageError(`no account uses ${email}`);
  return user;
}

/** The words of the command, without the server-wide flags (`--data-dir X`, `--database-url=Y`). */
function words(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg.startsWith("--")) {
      if (!arg.includes("=")) i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

export async function runUsers(config: ServerConfig, args: string[]): Promise<string> {
  const [command, ...rest] = words(args);
  switch (command) {
    case "reset-link":
      return withDatabase(config, async (db) => {
        const user = await userByEmail(db, rest[0]);
        const link = await resetLinkFor(db, config, user);
        await audit(db, { action: "admin.reset_link_issued", userId: user.id, detail: { via: "cli" } });
        return `${link}\n`;
      });
    case "plan":
      return withDatabase(config, async (db) => {
        const user = await userByEmail(db, rest[0]);
        if (!rest[1]) throw new UsageError("give the plan's id (see clawfleet users --help)");
        // Through a running server's admin socket the container gets the limits live, as from the API.
        const change = await setUserPlan(
          db,
          { userId: user.id, planId: rest[1], actorId: null, ip: null },
          servingLiveLimits(),
        );
        const note =
          change.container_limits === "next_spawn"
            ? " (the running container gets it at its next spawn)"
            : change.container_limits === "live"
              ? " (the running container has the new limits now)"
              : "";
        return `${user.email} is now on plan ${change.plan}${note}\n`;
      });
    default:
      throw new UsageError("unknown users command (see clawfleet users --help)");
  }
}
