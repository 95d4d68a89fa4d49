import { createInvite, inviteUrl, listInvites, revokeInvite } from "../auth/invites.ts";
import type { ServerConfig } from "../config.ts";
import { parseFlags, UsageError } from "./args.ts";
import { withDatabase } from "./database.ts";

export const INVITES_HELP = `Usage: clawfleet invites <command>

Commands:
  create [--email <address>] [--days <1-90>]   mint a single-use signup link (default 7 days)
  list                                          invites, whom they are for, and their status
  revoke <id>                                   revoke a pending invite

Invite links matter when CLAWFLEET_SIGNUP=invite. The link uses CLAWFLEET_PUBLIC_URL when set.
`;

export async function runInvites(config: ServerConfig, args: string[]): Promise<string> {
  const [command, ...rest] = args;
  const { values, positional } = parseFlags(rest, { email: "string", days: "string" });
  // A UserError (bad --days or --email) exits 64 like any usage error (src/main.ts).
  return withDatabase(config, async (db) => {
    switch (command) {
      case "create": {
        const days = values.days === undefined ? undefined : Number(values.days);
        const invite = await createInvite(
          db,
          { email: typeof values.email === "string" ? values.email : null, expiresInDays: days },
          { via: "cli" },
        );
        const link = config.publicUrl
          ? inviteUrl(config.publicUrl, invite.token)
          : `/signup?invite=${invite.token} (set CLAWFLEET_PUBLIC_URL for a full link)`;
        return `invite ${invite.id}, valid until ${invite.expires_at}\n${link}\n`;
      }
      case "list": {
        const rows = await listInvites(db);
        if (rows.length === 0) return "no invites\n";
        const state = (r: (typeof rows)[number]) =>
          r.used_at
            ? "used"
            : r.revoked_at
              ? "revoked"
              : Date.parse(r.expires_at) <= Date.now()
                ? "expired"
                : "pending";
        return `${rows.map((r) => [r.id, state(r), r.email ?? "anyone", r.expires_at].join("\t")).join("\n")}\n`;
      }
      case "revoke": {
        const id = positional[0];
        if (!id) throw new UsageError("invites revoke: give the invite's id");
        if (!(await revokeInvite(db, id, { via: "cli" }))) throw new UsageError(`no pending invite ${id}`);
        return `invite ${id} revoked\n`;
      }
      default:
        throw new UsageError(`unknown invites command "${command ?? ""}" (see clawfleet invites --help)`);
    }
  });
}
