import { desc, lt } from "drizzle-orm";
import { t } from "elysia";
import { assertAdmin } from "../auth/admin_guard.ts";
import { getUser } from "../auth/users.ts";
import type { AppContext } from "../context.ts";
import { asSystem } from "../db/rls.ts";
import { auditLog, usageDaily } from "../db/schema.ts";
import { addNode, findNode, listNodes, removeNode, setNodeState } from "../fleet/nodes.ts";
import type { Lifecycle } from "../sessions/lifecycle.ts";
import { type ApiBase, requireUser } from "./api_base.ts";
import { ApiError } from "./errors.ts";

export async function requireAdmin(ctx: AppContext, c: Parameters<typeof requireUser>[1]) {
  const auth = await requireUser(ctx, c);
  assertAdmin(await getUser(ctx.database.db, auth.userId));
  return auth;
}

export const adminRoutes = (ctx: AppContext, lifecycle: Lifecycle) => (app: ApiBase) =>
  app
    .get("/admin/nodes", async (c) => {
      await requireAdmin(ctx, c);
      const loads = await lifecycle.fleet.nodeLoads();
      const rows = await listNodes(ctx.database.db);
      return {
        nodes: rows.map((n) => ({
          id: n.id,
          name: n.name,
          url: n.url,
          fingerprint: n.fingerprint,
          state: n.state,
          capacity: n.capacity,
          used: loads.find((l) => l.id === n.id)?.used ?? null,
          last_health: n.lastHealth,
          last_seen_at: n.lastSeenAt?.toISOString() ?? null,
        })),
      };
    })
    .post(
      "/admin/nodes",
      async (c) => {
        const auth = await requireAdmin(ctx, c);
        const node = await addNode(ctx.database.db, c.body, { userId: auth.userId, ip: c.ip, via: "api" });
        c.set.status = 201;
        return { id: node.id, name: node.name, url: node.url, state: node.state };
      },
      {
        body: t.Object({
          name: t.String({ maxLength: 63 }),
          url: t.String({ maxLength: 300 }),
          fingerprint: t.String({ maxLength: 200 }),
          _csrf: t.Optional(t.String({ maxLength: 200 })),
        }),
      },
    )
    .post("/admin/nodes/:id/:action", async (c) => {
      const auth = await requireAdmin(ctx, c);
      const { action } = c.params;
      if (action !== "drain" && action !== "activate")
        throw new ApiError(404, "not_found", "No such node action.");
      const node = await findNode(ctx.database.db, c.params.id);
      if (!node) throw new ApiError(404, "not_found", "No such node.");
      await setNodeState(ctx.database.db, node.id, action === "drain" ? "draining" : "active", {
        userId: auth.userId,
        ip: c.ip,
        via: "api",
      });
      return { id: node.id, state: action === "drain" ? "draining" : "active" };
    })
    .delete("/admin/nodes/:id", async (c) => {
      const auth = await requireAdmin(ctx, c);
      const node = await findNode(ctx.database.db, c.params.id);
      if (!node) throw new ApiError(404, "not_found", "No such node.");
      await removeNode(ctx.database.db, node.id, c.query.force === "true", {
        userId: auth.userId,
        ip: c.ip,
        via: "api",
      });
      c.set.status = 204;
      return "";
    })
    .get("/admin/usage", async (c) => {
      await requireAdmin(ctx, c);
      const rows = await asSystem(ctx.database.db, (tx) =>
        tx.select().from(usageDaily).orderBy(desc(usageDaily.day), usageDaily.planId).limit(400),
      );
      return {
        days: rows.map((r) => ({
          day: String(r.day),
          plan: r.planId,
          spawns: r.spawns,
          active_users: r.activeUsers,
          container_seconds: r.containerSeconds,
        })),
      };
    })
    .get("/admin/audit", async (c) => {
      await requireAdmin(ctx, c);
      const before = Number(c.query.before);
      const rows = await asSystem(ctx.database.db, (tx) =>
        tx
          .select()
          .from(auditLog)
          .where(Number.isSafeInteger(before) && before > 0 ? lt(auditLog.id, before) : undefined)
          .orderBy(desc(auditLog.id))
          .limit(100),
      );
      return {
        entries: rows.map((r) => ({
          id: r.id,
          action: r.action,
          user_id: r.userId,
          actor_id: r.actorId,
          target: r.target,
          detail: r.detail,
          ip: r.ip,
          created_at: r.createdAt.toISOString(),
        })),
      };
    });
