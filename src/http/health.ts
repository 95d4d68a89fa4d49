import { sql } from "drizzle-orm";
import { Elysia } from "elysia";
import type { AppContext } from "../context.ts";

/** `/healthz`: the process answers. `/readyz`: and its database does too. */
export function healthRoutes(ctx: AppContext) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", async ({ set }) => {
      try {
        await ctx.database.db.execute(sql`select 1`);
        return { status: "ready", database: ctx.database.driver };
      } catch {
        set.status = 503;
        return { status: "unavailable", database: ctx.database.driver };
      }
    });
}
