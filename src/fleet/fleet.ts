// The fleet: which agents there are, how loaded each node is, and where a new container goes. It
// owns the agent connections (one pinned client per node, through the connector port), the capacity
// view, and placement; the lifecycle, the reconciler, the proxy and the admin pages ask it.
import type { Db } from "../db/client.ts";
import { activeSessions } from "../sessions/sessions_repo.ts";
import type { AgentConnector, NodeAgent } from "./agent_port.ts";
import { getNode, listNodes, type NodeRow, recordHealth } from "./nodes.ts";
import { FleetFullError, type NodeLoad, type PlanLimits, pickNode } from "./scheduler.ts";

export class Fleet {
  constructor(
    private readonly db: Db,
    private readonly connect: AgentConnector,
  ) {}

  /** A full node row carries its sealed secret: the connector then signs v2 for that node. */
  agentFor(node: Pick<NodeRow, "id" | "url" | "fingerprint"> & Partial<NodeRow>): NodeAgent {
    const { id, url, fingerprint, name, secretKeyId, secretNonce, secretCiphertext } = node;
    return this.connect({ id, url, fingerprint, name, secretKeyId, secretNonce, secretCiphertext });
  }

  /** The node and its agent, or null when the node is no longer registered. */
  async agentForNode(nodeId: string | null): Promise<{ node: NodeRow; agent: NodeAgent } | null> {
    const node = nodeId ? await getNode(this.db, nodeId) : null;
    return node ? { node, agent: this.agentFor(node) } : null;
  }

  /** Each node's capacity beside what its active containers' plans reserve. */
  async nodeLoads(nodes?: NodeRow[]): Promise<NodeLoad[]> {
    const [all, sessions] = await Promise.all([nodes ?? listNodes(this.db), activeSessions(this.db)]);
    return all.map((n) => {
      const mine = sessions.filter((s) => s.session.nodeId === n.id);
      return {
        id: n.id,
        state: n.state,
        capacity: n.capacity ?? { cpuMillis: 0, memoryMb: 0, containers: 0 },
        used: {
          cpuMillis: mine.reduce((a, s) => a + s.plan.cpuMillis, 0),
          memoryMb: mine.reduce((a, s) => a + s.plan.memoryMb, 0),
          containers: mine.length,
        },
      };
    });
  }

  /** The node a new container with these limits goes to; FleetFullError when none has room. */
  async place(plan: PlanLimits): Promise<NodeRow> {
    // A node registered since the last health check has no capacity on record yet: ask it now.
    let nodes = await listNodes(this.db);
    const unknown = nodes.filter((node) => node.state === "active" && !node.capacity);
    for (const node of unknown) {
      const health = await this.agentFor(node)
        .health()
        .catch(() => null);
      if (health) await recordHealth(this.db, node.id, health);
    }
    // One list serves the loads and the answer, unless a capacity was just recorded.
    if (unknown.length) nodes = await listNodes(this.db);
    const chosen = pickNode(await this.nodeLoads(nodes), plan);
    const node = nodes.find((n) => n.id === chosen.id);
    if (!node) throw new FleetFullError();
    return node;
  }
}
