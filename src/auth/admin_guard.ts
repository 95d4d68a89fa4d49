// The one admin check, for the API, the console and /metrics alike.
import { UserError } from "../errors.ts";

export function assertAdmin(user: { isAdmin: boolean } | null | undefined, what = "do this"): void {
  if (!user?.isAdmin) throw new UserError(403, "forbidden", `Only administrators can ${what}.`);
}
