import { audit } from "../audit.ts";
import { checkPassword } from "../auth/password_policy.ts";
import { hashPassword } from "../auth/passwords.ts";
import { createUser, EmailTakenError, normaliseEmail } from "../auth/users.ts";
import type { ServerConfig } from "../config.ts";
import { parseFlags, UsageError } from "./args.ts";
import { withDatabase } from "./database.ts";

export const ADMIN_CREATE_HELP = `Usage: clawfleet admin create --email <address>

Creates an administrator account. The password is read from standard input (one line), e.g.
  printf '%s\\n' "$PASSWORD" | clawfleet admin create --email ops@example.com
`;

export async function runAdminCreate(config: ServerConfig, args: string[], stdin: () => Promise<string>) {
  const { values } = parseFlags(args, { email: "string" });
  const email = typeof values.email === "string" ? normaliseEmail(values.email) : null;
  if (!email) throw new UsageError("--email must be a valid email address");
  const password = (await stdin()).replace(/\r?\n$/, "");
  const problem = checkPassword(password, email);
  if (problem) throw new UsageError(problem.message);
  await withDatabase(config, async (db) => {
    try {
      const user = await createUser(db, email, await hashPassword(password), true);
      await audit(db, { action: "admin.created", userId: user.id, detail: { via: "cli" } });
    } catch (error) {
      if (error instanceof EmailTakenError) throw new UsageError(`an account for ${email} already exists`);
      throw error;
    }
  });
  return `administrator ${email} created\n`;
}
