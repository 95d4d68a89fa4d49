// Every query on user-owned tables runs through one of these two helpers. `asUser` is what requests
// use: RLS limits it to the given user's rows. `asSystem` is for the few flows that must look across
// users (login by email, the reconciler, admin pages); it is a separate role so each use is explicit.
import { sql } from "drizzle-orm";
import type { Db } from "./client.ts";

export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/** Runs `fn` in a transaction as `clawfleet_app` with `app.user_id` set; a null id sees no rows. */
export function asUser<T>(db: Db, userId: string | null, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const id = userId !== null && isUuid(userId) ? userId : "";
  return db.transaction(async (tx) => {
    // One round trip: set_config('role', …, true) is SET LOCAL ROLE.
    await tx.execute(
      sql`select set_config('app.user_id', ${id}, true), set_config('role', 'clawfleet_app', true)`,
    );
    return fn(tx);
  });
}

export function asSystem<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(
      sql`select set_config('app.user_id', '', true), set_config('role', 'clawfleet_system', true)`,
    );
    return fn(tx);
  });
}
