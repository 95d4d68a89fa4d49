// Connects the control plane's NodeAgent port to real agents through the signed, pinned client.
// One client per node (its pinned certificate is cached), rebuilt if the node's address changes.
import { AgentClient } from "../../agent/api/client.ts";
import type { ClusterKey } from "../../agent/api/contract.ts";
import type { AgentConnector, NodeAddress, NodeAgent } from "./agent_port.ts";

export function agentConnector(keys: ClusterKey[]): AgentConnector {
  const clients = new Map<string, { address: NodeAddress; agent: NodeAgent }>();
  return (node) => {
    const cached = clients.get(node.id);
    if (cached && cached.address.url === node.url && cached.address.fingerprint === node.fingerprint)
      return cached.agent;
    const client = new AgentClient({ url: node.url, fingerprint: node.fingerprint, keys });
    const agent: NodeAgent = {
      health: () => client.health(),
      spawn: (request) => client.spawn(request),
      get: (sessionId) => client.get(sessionId),
      list: () => client.list(),
      freeze: (sessionId) => client.freeze(sessionId),
      restore: (sessionId, volume) => client.restore(sessionId, { volume }),
      updateLimits: (sessionId, limits) => client.updateLimits(sessionId, limits),
      remove: (sessionId) => client.remove(sessionId),
      growVolume: async (sessionId, diskMb) => {
        await client.growVolume(sessionId, diskMb);
      },
      stats: (sessionId) => client.stats(sessionId).catch(() => null),
      connect: (sessionId, kind, reconnect) => client.connect(sessionId, kind, reconnect),
      connectApp: (sessionId, path) => client.connect(sessionId, "appSocket", path),
      relayHook: (sessionId, hook) => client.call("hook", sessionId, hook, 35_000),
      relayApp: (sessionId, request) => client.call("app", sessionId, request, 35_000),
    };
    clients.set(node.id, { address: node, agent });
    return agent;
  };
}
