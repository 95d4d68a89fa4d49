// The operator's page: fleet nodes with health and capacity, aggregate usage (no per-user data) and
// the audit log. Every value shown here can come from outside (node health, audit details): all safe.

import type { InviteSummary } from "../../src/auth/invites.ts";
import { AuditSection, type AuditSectionProps } from "../components/admin_audit.tsx";
import { type AdminNode, NodesSection } from "../components/admin_nodes.tsx";
import { InvitesSection } from "../components/invites.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

export type { AdminNode };

export type AdminUsageDay = {
  day: string;
  plan: string;
  spawns: number;
  activeUsers: number;
  containerSeconds: number;
};

export function AdminPage(props: {
  user: ConsoleUser;
  nodes: AdminNode[];
  usage: AdminUsageDay[];
  audit: AuditSectionProps;
  invites?: { list: InviteSummary[]; mode: string; link?: string | null; error?: string | null };
}) {
  return (
    <Layout title="Admin" user={props.user} active="admin">
      <h1>Administration</h1>
      <p>
        <a id="admin-users-link" href="/admin/users">
          Users and plans
        </a>{" "}
        ·{" "}
        <a id="admin-templates-link" href="/admin/templates">
          Assistants users may pick
        </a>
      </p>

      <NodesSection nodes={props.nodes} csrf={props.user.csrf} />

      {props.invites ? (
        <InvitesSection
          csrf={props.user.csrf}
          invites={props.invites.list}
          mode={props.invites.mode}
          link={props.invites.link}
          error={props.invites.error}
        />
      ) : (
        ""
      )}

      <section class="card" aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage</h2>
        <p class="small muted">
          Daily totals per plan. Usage is only ever kept in aggregate, never per person.
        </p>
        {props.usage.length === 0 ? (
          <p class="muted">No usage recorded yet.</p>
        ) : (
          <div class="table-wrap">
            <table class="stack" id="usage-table">
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  <th scope="col">Plan</th>
                  <th scope="col">Spawns</th>
                  <th scope="col">Active users</th>
                  <th scope="col">Container hours</th>
                </tr>
              </thead>
              <tbody>
                {props.usage.map((row) => (
                  <tr>
                    <td data-label="Day" safe>
                      {row.day}
                    </td>
                    <td data-label="Plan" safe>
                      {row.plan}
                    </td>
                    <td data-label="Spawns" safe>
                      {String(row.spawns)}
                    </td>
                    <td data-label="Active users" safe>
                      {String(row.activeUsers)}
                    </td>
                    <td data-label="Container hours" safe>
                      {(row.containerSeconds / 3600).toFixed(1)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <AuditSection {...props.audit} />
    </Layout>
  );
}
