// The administrators' page: nodes (registry, last health, capacity against what is placed on them),
// invite links, aggregate usage and the latest audit events.
import { desc } from "drizzle-orm";
import { InvitesSection } from "../../../views/components/invites.tsx";
import { AdminPage } from "../../../views/pages/admin.tsx";
import { createInvite, inviteUrl, listInvites, revokeInvite } from "../../auth/invites.ts";
import type { AppContext } from "../../context.ts";
import { asSystem } from "../../db/rls.ts";
import { auditLog, usageDaily } from "../../db/schema.ts";
import { listNodes } from "../../fleet/nodes.ts";
import type { Lifecycle } from "../../sessions/lifecycle.ts";
import type { PageBase } from "./page_base.ts";
import { formFailure, formFields, html, isHtmx, page, redirect, type SignedInUser } from "./page_response.ts";

const AUDIT_ROWS = 100;
const USAGE_ROWS = 60;

type InviteNotice = { link?: string | null; error?: string | null };

export const adminPages = (ctx: AppContext, lifecycle: Lifecycle) => {
  async function adminPage(user: SignedInUser, notice: InviteNotice = {}) {
    const db = ctx.database.db;
    const [rows, loads, usage, audit, invites] = await Promise.all([
      listNodes(db),
      lifecycle.fleet.nodeLoads(),
      asSystem(db, (tx) =>
        tx.select().from(usageDaily).orderBy(desc(usageDaily.day), usageDaily.planId).limit(USAGE_ROWS),
      ),
      asSystem(db, (tx) => tx.select().from(auditLog).orderBy(desc(auditLog.id)).limit(AUDIT_ROWS)),
      listInvites(db),
    ]);
    return AdminPage({
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
      invites: { list: invites, mode: ctx.config.signup.mode, ...notice },
    });
  }

  /** htmx swaps just the invites card; without JavaScript the whole page comes back. */
  async function invitesAnswer(request: Request, user: SignedInUser, notice: InviteNotice = {}) {
    if (!isHtmx(request)) return adminPage(user, notice);
    const invites = await listInvites(ctx.database.db);
    return InvitesSection({ csrf: user.csrf, invites, mode: ctx.config.signup.mode, ...notice });
  }

  return (app: PageBase) =>
    app
      .get(
        "/admin",
        page(ctx, { access: "admin" }, async (_c, user) => html(await adminPage(user))),
      )
      .post(
        "/admin/invites",
        page(ctx, { access: "admin", mutation: true }, async (c, user) => {
          const form = formFields(c.body);
          try {
            const days = /^\d{1,2}$/.test(form.days ?? "") ? Number(form.days) : Number.NaN;
            const invite = await createInvite(
              ctx.database.db,
              { email: form.email || null, expiresInDays: days },
              { userId: user.id, ip: c.ip, via: "console" },
            );
            const link = inviteUrl(ctx.config.publicUrl ?? c.origin, invite.token);
            return html(await invitesAnswer(c.request, user, { link }));
          } catch (error) {
            return formFailure(ctx, c.request, user, error, (message) =>
              invitesAnswer(c.request, user, { error: message }),
            );
          }
        }),
      )
      .post(
        "/admin/invites/:id/revoke",
        page(ctx, { access: "admin", mutation: true }, async (c, user) => {
          await revokeInvite(ctx.database.db, c.params.id ?? "", {
            userId: user.id,
            ip: c.ip,
            via: "console",
          });
          if (!isHtmx(c.request)) return redirect(c.request, "/admin");
          return html(await invitesAnswer(c.request, user));
        }),
      );
};
