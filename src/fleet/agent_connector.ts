// Connects the control plane's NodeAgent port to real agents through the signed, pinned client.
// One client per node (its pinned certificate is cached), rebuilt if the node's address or secret
// changes. A node with its own secret is signed for with it (v2, bound to the node); the others with
// the cluster secret (v1), as long as one is configured.
import { AgentClient } from "../../agent/api/client.ts";
import type { ClusterKey } from "../../agent/api/contract.ts";
import type { MasterKeyring } from "../secrets/master_keys.ts";
import type { AgentConnector, NodeAddress, NodeAgent } from "./agent_port.ts";
import { nodeSigning } from "./node_secrets.ts";

function sameAddress(a: NodeAddress, b: NodeAddress): boolean {
  const sealed = (n: NodeAddress) =>
    n.secretCiphertext ? Buffer.from(n.secretCiphertext).toString("hex") : "";
  return a.url === b.url && a.fingerprint === b.fingerprint && sealed(a) === sealed(b);
}

export function agentConnector(keys: ClusterKey[], keyring?: MasterKeyring): AgentConnector {
  const clients = new Map<string, { address: NodeAddress; agent: NodeAgent }>();
  return (node) => {
    const cached = clients.get(node.id);
    if (cached && sameAddress(cached.address, node)) return cached.agent;
    let client: Promise<AgentClient> | null = null;
    const ready = () => {
      client ??= (async () => {
        const own = keyring && node.name ? await nodeSigning(keyring, { ...node, name: node.name }) : null;
        return own
          ? new AgentClient({
              url: node.url,
              fingerprint: node.fingerprint,
              keys: [own.key],
              nodeId: own.nodeId,
            })
          : new AgentClient({ url: node.url, fingerprint: node.fingerprint, keys });
      })();
      return client;
    };
    const agent: NodeAgent = {
      health: async () => (await ready()).health(),
      spawn: async (request) => (await ready()).spawn(request),
      get: async (sessionId) => (await ready()).get(sessionId),
      list: async () => (await ready()).list(),
      freeze: async (sessionId) => (await ready()).freeze(sessionId),
      restore: async (sessionId, volume) => (await ready()).restore(sessionId, { volume }),
      updateLimits: async (sessionId, limits) => (await ready()).updateLimits(sessionId, limits),
      remove: async (sessionId) => (await ready()).remove(sessionId),
      drop: async (sessionId) => (await ready()).drop(sessionId),
      leftoverVolumes: async () => (await ready()).leftoverVolumes(),
      removeLeftoverVolume: async (sessionId) => (await ready()).removeLeftoverVolume(sessionId),
      growVolume: async (sessionId, diskMb) => {
        await (await ready()).growVolume(sessionId, diskMb);
      },
      stats: async (sessionId) => (await ready()).stats(sessionId).catch(() => null),
      connect: async (sessionId, kind, reconnect) => (await ready()).connect(sessionId, kind, reconnect),
      connectApp: async (sessionId, path) => (await ready()).connect(sessionId, "appSocket", path),
      relayHook: async (sessionId, hook) => (await ready()).call("hook", sessionId, hook, 35_000),
      // A little over the agent's own limits (30 s for a hook, 110 s for an app request: a whole
      // assistant turn), so the agent's clearer error arrives first.
      relayApp: async (sessionId, request) => (await ready()).call("app", sessionId, request, 120_000),
    };
    clients.set(node.id, { address: node, agent });
    return agent;
  };
}
