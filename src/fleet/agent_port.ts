// What the control plane needs from a node's agent. The real implementation wraps the signed,
// fingerprint-pinned client of agent/api/client.ts (src/fleet/agent_connector.ts); keeping the control
// plane on this narrow port means the lifecycle code never sees HTTP, signing or TLS. The shapes are
// the agent contract's own (`import type`), so the two sides cannot drift.
import type {
  AppRelayRequest,
  ContainerInfo,
  ContainerSpec,
  ContainerStats,
  HealthReport,
  HookRelayRequest,
  HookRelayResponse,
  LiveLimits,
} from "../../agent/api/contract.ts";

export type NodeAddress = {
  id: string;
  url: string;
  fingerprint: string;
  /** The node's own sealed signing secret (src/fleet/node_secrets.ts), when it has one. */
  name?: string;
  secretKeyId?: string | null;
  secretNonce?: Uint8Array | null;
  secretCiphertext?: Uint8Array | null;
};

export type AgentHealth = HealthReport;
export type AgentContainer = ContainerInfo;
export type SpawnRequest = ContainerSpec;
export type AgentStats = ContainerStats;

export interface NodeAgent {
  health(): Promise<AgentHealth>;
  spawn(request: SpawnRequest): Promise<AgentContainer>;
  get(sessionId: string): Promise<AgentContainer | null>;
  list(): Promise<AgentContainer[]>;
  /** May answer when the container's runtime wants to be restored (its next schedule). */
  freeze(sessionId: string): Promise<{ wakeAt?: string } | null | undefined>;
  /** `volume`: the key again, since freeze took it out of the node's kernel. */
  restore(sessionId: string, volume: { key: string }): Promise<void>;
  /** New memory, CPU and pids limits on the live container. Optional: test doubles may lack it. */
  updateLimits?(sessionId: string, limits: LiveLimits): Promise<void>;
  remove(sessionId: string): Promise<void>;
  /** Removes the container but keeps its volume for the next spawn. Optional: test doubles may lack it. */
  drop?(sessionId: string): Promise<void>;
  /** Sessions with a volume on the node and no container. Optional: test doubles may lack it. */
  leftoverVolumes?(): Promise<string[]>;
  /** Removes such a volume; the node refuses (409) while a container or a spawn uses it. */
  removeLeftoverVolume?(sessionId: string): Promise<void>;
  /** The plan's disk grew: the node grows the session's volume (never shrinks it). */
  growVolume(sessionId: string, diskMb: number): Promise<void>;
  stats(sessionId: string): Promise<AgentStats | null>;
  /** Opens the agent's WSS for a container: `kind` gateway or terminal (`reconnect`: the shell to reattach). */
  connect(sessionId: string, kind: "gateway" | "terminal", reconnect?: string): Promise<WebSocket>;
  /** Opens the agent's WSS to a container app's WebSocket at `path`. */
  connectApp(sessionId: string, path: string): Promise<WebSocket>;
  /** Relays one inbound webhook to the container and returns its answer. */
  relayHook(sessionId: string, hook: HookRelayRequest): Promise<HookRelayResponse>;
  /** Relays one request to the container's app port and returns its answer. */
  relayApp(sessionId: string, request: AppRelayRequest): Promise<HookRelayResponse>;
}

export type AgentConnector = (node: NodeAddress) => NodeAgent;
