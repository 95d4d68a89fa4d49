// Placement: the healthy, non-draining node with the most free capacity left after this plan's
// limits are reserved. Memory is the binding resource; CPU and container slots break ties.
export type NodeLoad = {
  id: string;
  state: "active" | "draining" | "unreachable";
  capacity: { cpuMillis: number; memoryMb: number; containers: number };
  used: { cpuMillis: number; memoryMb: number; containers: number };
};

export type PlanLimits = { cpuMillis: number; memoryMb: number };

export class FleetFullError extends Error {
  constructor() {
    super("Every node is full right now. Try again later or ask the operator to add capacity.");
  }
}

export function pickNode(nodes: NodeLoad[], plan: PlanLimits): NodeLoad {
  const candidates = nodes
    .filter((n) => n.state === "active")
    .map((n) => ({
      node: n,
      memory: n.capacity.memoryMb - n.used.memoryMb - plan.memoryMb,
      cpu: n.capacity.cpuMillis - n.used.cpuMillis - plan.cpuMillis,
      slots: n.capacity.containers - n.used.containers - 1,
    }))
    .filter((c) => c.memory >= 0 && c.cpu >= 0 && c.slots >= 0)
    .sort(
      (a, b) =>
        b.memory - a.memory || b.cpu - a.cpu || b.slots - a.slots || a.node.id.localeCompare(b.node.id),
    );
  const best = candidates[0];
  if (!best) throw new FleetFullError();
  return best.node;
}
