// The operator's page: fleet nodes with health and capacity, aggregate usage (no per-user data) and
// the audit log. Every value shown here can come from outside (node health, audit details): all safe.

import type { InviteSummary } from "../../src/auth/invites.ts";
import { Time } from "../components/forms.tsx";
import { InvitesSection } from "../components/invites.tsx";
import { type ConsoleUser, Layout } from "../layout.tsx";

type Capacity = { cpuMillis: number; memoryMb: number; containers: number };

export type AdminNode = {
  id: string;
  name: string;
  url: string;
  state: string;
  capacity: Capacity | null;
  used: Capacity | null;
  health: Record<string, unknown> | null;
  lastSeenAt: Date | null;
};

export type AdminUsageDay = {
  day: string;
  plan: string;
  spawns: number;
  activeUsers: number;
  containerSeconds: number;
};

export type AdminAuditEntry = {
  id: number;
  action: string;
  userId: string | null;
  actorId: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
  ip: string | null;
  createdAt: Date;
};

function ratio(used: number | undefined, total: number | undefined, unit = ""): string {
  if (total === undefined) return "—";
  return `${(used ?? 0).toLocaleString("en")}${unit} / ${total.toLocaleString("en")}${unit}`;
}

function healthSummary(health: Record<string, unknown> | null): { ok: boolean; text: string } {
  if (!health) return { ok: false, text: "Not checked yet" };
  if (typeof health.error === "string") return { ok: false, text: `Unreachable: ${health.error}` };
  const isolation = health.isolation && typeof health.isolation === "object" ? health.isolation : {};
  const enforced = Object.entries(isolation as Record<string, unknown>)
    .filter(([, on]) => on === true)
    .map(([name]) => name);
  const docker = typeof health.dockerVersion === "string" ? `Docker ${health.dockerVersion}` : "Docker ?";
  return {
    ok: true,
    text: `${docker}; isolation: ${enforced.length ? enforced.join(", ") : "none reported"}`,
  };
}

export function AdminPage(props: {
  user: ConsoleUser;
  nodes: AdminNode[];
  usage: AdminUsageDay[];
  audit: AdminAuditEntry[];
  invites?: { list: InviteSummary[]; mode: string; link?: string | null; error?: string | null };
}) {
  return (
    <Layout title="Admin" user={props.user} active="admin">
      <h1>Administration</h1>
      <p>
        <a id="admin-users-link" href="/admin/users">
          Users and plans
        </a>
      </p>

      <section class="card" aria-labelledby="nodes-heading">
        <h2 id="nodes-heading">Nodes</h2>
        {props.nodes.length === 0 ? (
          <p class="muted">No nodes registered. Add one with `clawfleet nodes add`.</p>
        ) : (
          <div class="table-wrap">
            <table class="stack" id="nodes-table">
              <thead>
                <tr>
                  <th scope="col">Node</th>
                  <th scope="col">State</th>
                  <th scope="col">Health</th>
                  <th scope="col">Containers</th>
                  <th scope="col">CPU (millicores)</th>
                  <th scope="col">Memory</th>
                  <th scope="col">Last seen</th>
                </tr>
              </thead>
              <tbody>
                {props.nodes.map((node) => {
                  const health = healthSummary(node.health);
                  return (
                    <tr>
                      <td data-label="Node">
                        <strong safe>{node.name}</strong>
                        <br />
                        <span class="small muted mono" safe>
                          {node.url}
                        </span>
                      </td>
                      <td data-label="State">
                        <span class={`state state-${node.state === "active" ? "running" : "failed"}`} safe>
                          {node.state}
                        </span>
                      </td>
                      <td data-label="Health" class={health.ok ? undefined : "muted"} safe>
                        {health.text}
                      </td>
                      <td data-label="Containers" safe>
                        {ratio(node.used?.containers, node.capacity?.containers)}
                      </td>
                      <td data-label="CPU" safe>
                        {ratio(node.used?.cpuMillis, node.capacity?.cpuMillis)}
                      </td>
                      <td data-label="Memory" safe>
                        {ratio(node.used?.memoryMb, node.capacity?.memoryMb, " MB")}
                      </td>
                      <td data-label="Last seen">
                        <Time value={node.lastSeenAt} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>

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

      <section class="card" aria-labelledby="audit-heading">
        <h2 id="audit-heading">Audit log</h2>
        <p class="small muted">The latest 100 events.</p>
        <div class="table-wrap">
          <table class="stack" id="audit-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Action</th>
                <th scope="col">User</th>
                <th scope="col">Target</th>
                <th scope="col">IP</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {props.audit.map((entry) => (
                <tr>
                  <td data-label="Time">
                    <Time value={entry.createdAt} />
                  </td>
                  <td data-label="Action" class="mono" safe>
                    {entry.action}
                  </td>
                  <td data-label="User" class="mono small" safe>
                    {entry.actorId && entry.actorId !== entry.userId
                      ? `${entry.actorId} for ${entry.userId ?? "—"}`
                      : (entry.userId ?? "—")}
                  </td>
                  <td data-label="Target" class="mono small" safe>
                    {entry.target ?? "—"}
                  </td>
                  <td data-label="IP" class="mono small" safe>
                    {entry.ip ?? "—"}
                  </td>
                  <td data-label="Detail" class="mono small" safe>
                    {entry.detail ? JSON.stringify(entry.detail) : ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </Layout>
  );
}
