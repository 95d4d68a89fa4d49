// The administrators' page: nodes (registry, last health, capacity against what is placed on them,
// drain and activate), invite links, aggregate usage and the audit log (filtered, paged).
import { desc } from "drizzle-orm";
import { AuditSection, auditQuery } from "../../../views/components/admin_audit.tsx";
import { type AdminNode, NodesSection } from "../../../views/components/admin_nodes.tsx";
import { InvitesSection } from "../../../views/components/invites.tsx";
import { AdminPage } from "../../../views/pages/admin.tsx";
import { type AuditFilter, auditActions, auditFilterFrom, listAuditPage } from "../../audit_query.ts";
import { createInvite, inviteUrl, listInvites, revokeInvite } from "../../auth/invites.ts";
import type { AppContext } from "../../context.ts";
import { asSystem } from "../../db/rls.ts";
import { usageDaily } from "../../db/schema.ts";
import { getNode, listNodes, setNodeState } from "../../fleet/nodes.ts";
import type { Lifecycle } from "../../sessions/lifecycle.ts";
import type { PageBase } from "./page_base.ts";
import {
  formFailure,
  formFields,
  html,
  isHtmx,
  PageError,
  page,
  redirect,
  type SignedInUser,
} from "./page_response.ts";

const USAGE_ROWS = 60;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NODE_ACTIONS = { drain: "draining", activate: "active" } as const;

type InviteNotice = { link?: string | null; error?: string | null };

export const adminPages = (ctx: AppContext, lifecycle: Lifecycle) => {
  async function nodeRows(): Promise<AdminNode[]> {
    const [rows, loads] = await Promise.all([listNodes(ctx.database.db), lifecycle.fleet.nodeLoads()]);
    return rows.map((n) => ({
      id: n.id,
      name: n.name,
      url: n.url,
      state: n.state,
      capacity: n.capacity,
      used: loads.find((l) => l.id === n.id)?.used ?? null,
      health: (n.lastHealth as Record<string, unknown> | null) ?? null,
      lastSeenAt: n.lastSeenAt,
    }));
  }

  async function auditSection(filter: AuditFilter) {
    const db = ctx.database.db;
    const [page, actions] = await Promise.all([listAuditPage(db, filter), auditActions(db)]);
    return { ...page, filter, actions };
  }

  async function adminPage(user: SignedInUser, notice: InviteNotice = {}, filter: AuditFilter = {}) {
    const db = ctx.database.db;
    const [nodes, usage, audit, invites] = await Promise.all([
      nodeRows(),
      asSystem(db, (tx) =>
        tx.select().from(usageDaily).orderBy(desc(usageDaily.day), usageDaily.planId).limit(USAGE_ROWS),
      ),
      auditSection(filter),
      listInvites(db),
    ]);
    return AdminPage({
      user,
      nodes,
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
        page(ctx, { access: "admin" }, async (c, user) =>
          html(await adminPage(user, {}, auditFilterFrom(c.query))),
        ),
      )
      .get(
        "/admin/audit",
        page(ctx, { access: "admin" }, async (c) => {
          const filter = auditFilterFrom(c.query);
          if (!isHtmx(c.request)) return redirect(c.request, `/admin${auditQuery(filter, filter.before)}`);
          return html(AuditSection(await auditSection(filter)));
        }),
      )
      .post(
        "/admin/nodes/:id/:action",
        page(ctx, { access: "admin", mutation: true }, async (c, user) => {
          const action = c.params.action as keyof typeof NODE_ACTIONS;
          const id = c.params.id ?? "";
          const node = UUID.test(id) ? await getNode(ctx.database.db, id) : null;
          if (!Object.hasOwn(NODE_ACTIONS, action) || !node) {
            throw new PageError(404, "That node no longer exists. Reload the page to see the fleet.");
          }
          await setNodeState(ctx.database.db, node.id, NODE_ACTIONS[action], {
            userId: user.id,
            ip: c.ip,
            via: "console",
          });
          if (!isHtmx(c.request)) return redirect(c.request, "/admin");
          const notice =
            action === "drain"
              ? `Node ${node.name} is draining: no new containers go there; the running ones stay.`
              : `Node ${node.name} is active: new containers may be placed there.`;
          return html(NodesSection({ nodes: await nodeRows(), csrf: user.csrf, notice }));
        }),
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
