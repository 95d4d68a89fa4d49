// The administrators' page: nodes (registry, last health, capacity against what is placed on them),
// aggregate usage and the latest audit events.
import { desc } from "drizzle-orm";
import { AdminPage } from "../../../views/pages/admin.tsx";
import type { AppContext } from "../../context.ts";
import { asSystem } from "../../db/rls.ts";
import { auditLog, usageDaily } from "../../db/schema.ts";
import { listNodes } from "../../fleet/nodes.ts";
import type { Lifecycle } from "../../sessions/lifecycle.ts";
import type { PageBase } from "./page_base.ts";
import { html, page } from "./page_response.ts";

const AUDIT_ROWS = 100;
const USAGE_ROWS = 60;

export const adminPages = (ctx: AppContext, lifecycle: Lifecycle) => (app: PageBase) =>
  app.get(
    "/admin",
    page(ctx, { access: "admin" }, async (_c, user) => {
      const db = ctx.database.db;
      const [rows, loads, usage, audit] = await Promise.all([
        listNodes(db),
        lifecycle.fleet.nodeLoads(),
        asSystem(db, (tx) =>
          tx.select().from(usageDaily).orderBy(desc(usageDaily.day), usageDaily.planId).limit(USAGE_ROWS),
        ),
        asSystem(db, (tx) => tx.select().from(auditLog).orderBy(desc(auditLog.id)).limit(AUDIT_ROWS)),
      ]);
      return html(
        AdminPage({
          user,
          nodes: rows.map((n) => ({
            id: n.id,
            name: n.name,
            url: n.url,
            state: n.state,
            capacity: n.capacity,
            used: loads.find((l) => l.id === n.id)?.used ?? null,
            health: (n.lastHealth as Record<string, unknown> | null) ?? null,
            lastSeenAt: n.lastSeenAt,
          })),
          usage: usage.map((r) => ({
            day: String(r.day),
            plan: r.planId,
            spawns: r.spawns,
            activeUsers: r.activeUsers,
            containerSeconds: r.containerSeconds,
          })),
          audit,
        }),
      );
    }),
  );
