// The fleet's nodes on the admin page: health, capacity against what is placed there, and the
// operator's two switches: drain (no new containers are placed there; running ones stay) and activate.
import { CsrfField, ErrorSlot, Time } from "./forms.tsx";

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

const STATE_CLASS: Record<string, string> = { active: "running", draining: "frozen" };

function NodeStateButton(props: { node: AdminNode; csrf: string }) {
  const { node } = props;
  const next = node.state === "draining" ? "activate" : "drain";
  const label = next === "drain" ? "Drain" : "Activate";
  return (
    <form
      method="post"
      action={`/admin/nodes/${node.id}/${next}`}
      hx-post={`/admin/nodes/${node.id}/${next}`}
      hx-target="#nodes-section"
      hx-swap="outerHTML"
    >
      <CsrfField token={props.csrf} />
      <button
        type="submit"
        class="secondary"
        id={`node-${next}-${node.id}`}
        aria-label={`${label} node ${node.name}`}
        title={
          next === "drain"
            ? "Place no new containers here; the running ones stay"
            : "Place new containers here again"
        }
      >
        {label}
      </button>
    </form>
  );
}

export function NodesSection(props: { nodes: AdminNode[]; csrf: string; notice?: string | null }) {
  return (
    <section class="card" id="nodes-section" aria-labelledby="nodes-heading">
      <h2 id="nodes-heading">Nodes</h2>
      <ErrorSlot />
      {props.notice ? (
        <div class="alert alert-success" role="status" safe>
          {props.notice}
        </div>
      ) : (
        ""
      )}
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
                <th scope="col">
                  <span class="muted">Actions</span>
                </th>
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
                      <span class={`state state-${STATE_CLASS[node.state] ?? "failed"}`} safe>
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
                    <td>
                      <NodeStateButton node={node} csrf={props.csrf} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
