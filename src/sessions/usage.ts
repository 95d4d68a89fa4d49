// Daily usage aggregates: per plan and day, never per user.
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";

const today = () => new Date().toISOString().slice(0, 10);

export function recordSpawn(db: Db, planId: string) {
  return asSystem(db, (tx) =>
    tx.execute(sql`insert into usage_daily (day, plan_id, spawns) values (${today()}, ${planId}, 1)
      on conflict (day, plan_id) do update set spawns = usage_daily.spawns + 1`),
  );
}

/** Called by the reconciler each tick with how many containers of each plan ran for `seconds`. */
export function recordRunning(db: Db, running: Map<string, number>, seconds: number) {
  return asSystem(db, async (tx) => {
    for (const [planId, count] of running) {
      await tx.execute(sql`insert into usage_daily (day, plan_id, container_seconds, active_users)
        values (${today()}, ${planId}, ${Math.round(count * seconds)}, ${count})
        on conflict (day, plan_id) do update set
          container_seconds = usage_daily.container_seconds + excluded.container_seconds,
          active_users = greatest(usage_daily.active_users, excluded.active_users)`);
    }
  });
}
