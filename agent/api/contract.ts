// The one contract between the control plane and a node agent: request and response shapes, and the
// HMAC request signing of DESIGN.md. Imported by the agent's handlers and by the server's client so
// the two cannot drift.
import { encodeBase64urlNoPadding, encodeHexLowerCase } from "@oslojs/encoding";
import { constantTimeEqual, hmacSha256, sha256Hex } from "../../common/crypto.ts";
import { isProvider, type Provider } from "../../common/providers.ts";

export { sha256Hex };

export const SIGNATURE_HEADERS = {
  keyId: "x-clawfleet-key-id",
  timestamp: "x-clawfleet-timestamp",
  nonce: "x-clawfleet-nonce",
  signature: "x-clawfleet-signature",
  /** v2 only: the node the request is meant for, bound into the signature. */
  nodeId: "x-clawfleet-node-id",
} as const;

export const SIGNATURE_WINDOW_SECONDS = 60;

export type ClusterKey = { id: string; secret: Uint8Array<ArrayBuffer> };

export type PlanLimits = { cpuMillis: number; memoryMb: number; pidsLimit: number; diskMb: number };

/**
 * What the server may ask for. Anything else in the body is refused: no raw Docker options. Provider
 * keys are not part of it: the provider gateway fetches them when the container needs them.
 */
export type ContainerSpec = {
  sessionId: string;
  template: string;
  limits: PlanLimits;
  /** The session's volume key (32 bytes, base64), required by a node that encrypts volumes. */
  volume?: VolumeKey;
  /**
   * Upgrade: recreate the container even if it runs (or is frozen), from the template's current
   * image, keeping its volume, network and gateway token. Without it a spawn keeps what runs.
   */
  replace?: boolean;
};

/**
 * The key a node needs to mount a session's encrypted volume; the node keeps it only in the kernel.
 * `fresh`: the server made this key just now (a first spawn, or the first after a kill shredded the
 * last one), so a volume of the session still on the node is a leftover nothing can read: a spawn
 * replaces it instead of refusing the key (docs/AGENT.md).
 */
export type VolumeKey = { key: string; fresh?: boolean };

/** POST /v1/containers/:id/volume: the plan's disk grew; the volume follows (never shrinks). */
export type GrowVolumeRequest = { diskMb: number };

/** POST /v1/containers/:id/restore: the volume key, since freeze took it out of the kernel. */
export type RestoreRequest = { volume?: VolumeKey };

/** A clawfleet session id (lower-case UUID), which is also the `:id` of every container route. */
export const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type ContainerStatus = "creating" | "starting" | "waiting" | "ready" | "paused" | "exited";

/** How long one spawn step took on the node, in milliseconds (agent/spawn_clock.ts). */
export type SpawnStepTiming = { status: "creating" | "starting" | "waiting"; ms: number };

export type ContainerInfo = {
  sessionId: string;
  dockerId: string;
  template: string;
  status: ContainerStatus;
  ready: boolean;
  paused: boolean;
  createdAt: string;
  /** The size of its mounted volume's filesystem, MiB (absent when not mounted on this node). */
  volumeMb?: number;
  /** Only in a freeze's answer: when the runtime asked to be restored (its next schedule), ISO 8601. */
  wakeAt?: string;
  /**
   * Only from GET /v1/containers/:id: false when the template's image tag now names another image
   * than the container runs (an upgrade would move it); absent when the node cannot tell.
   */
  imageCurrent?: boolean;
  /** Only in a spawn's answer: its steps in order, as measured on the node (absent from older agents). */
  spawnSteps?: SpawnStepTiming[];
};

export type HealthReport = {
  nodeId: string;
  dockerVersion: string;
  capacity: { cpuMillis: number; memoryMb: number; containers: number };
  containers: number;
  /** What this node can enforce. `rootful`: started with --allow-rootful on a daemon without userns. */
  isolation: {
    usernsRemap: boolean;
    seccomp: boolean;
    apparmor: boolean;
    rootful: boolean;
    firewall: boolean;
    /** Data volumes are fscrypt-encrypted ext4 images (false only with --allow-unencrypted-volumes). */
    encryptedVolumes: boolean;
  };
  /** The daemon keeps containers running while it (or the agent) restarts. */
  liveRestore: boolean;
  /** The installed firewall rules (`iptables -S` of the agent's chains). */
  firewall: string[];
};

export type ContainerStats = {
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
};

// The other direction: the node's provider gateway calls the server, signed with the same scheme and
// the same cluster keys (docs/AGENT.md "Provider gateway").
export const SERVER_CHANNEL = {
  prefix: "/agent/v1/",
  keys: (sessionId: string) => `/agent/v1/sessions/${sessionId}/provider-keys`,
  usage: "/agent/v1/usage",
} as const;

/** The user's current keys for one session's container, and where they stand against the plan's budget. */
export type ProviderKeysResponse = {
  keys: Partial<Record<Provider, string>>;
  budget: { monthlyTokens: number | null; usedThisMonth: number };
};

/** Token counts only: never a prompt, a reply or a key. `day` is the UTC day (YYYY-MM-DD). */
export type TokenUsageReport = {
  sessionId: string;
  day: string;
  provider: Provider;
  model: string;
  inputTokens: number;
  outputTokens: number;
  requests: number;
};

const USAGE_KEYS = ["sessionId", "day", "provider", "model", "inputTokens", "outputTokens", "requests"];
const COUNT_MAX = 1e12;

/** Parses a usage batch strictly; a message for a 400 on anything unexpected. */
export function parseUsageReports(input: unknown): TokenUsageReport[] | string {
  const reports = (input as { reports?: unknown } | null)?.reports;
  if (!Array.isArray(reports) || reports.length > 10_000) return "reports must be an array (at most 10000)";
  for (const [i, r] of reports.entries()) {
    if (!r || typeof r !== "object" || Array.isArray(r)) return `reports[${i}] must be an object`;
    const o = r as Record<string, unknown>;
    if (Object.keys(o).some((k) => !USAGE_KEYS.includes(k))) return `reports[${i}] has unknown fields`;
    if (typeof o.sessionId !== "string" || !SESSION_ID.test(o.sessionId)) return `reports[${i}].sessionId`;
    if (typeof o.day !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(o.day)) return `reports[${i}].day`;
    if (!isProvider(o.provider)) return `reports[${i}].provider`;
    if (typeof o.model !== "string" || o.model.length > 200) return `reports[${i}].model`;
    for (const k of ["inputTokens", "outputTokens", "requests"]) {
      const v = o[k];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > COUNT_MAX)
        return `reports[${i}].${k}`;
    }
  }
  return reports as TokenUsageReport[];
}

/** The largest webhook body relayed (Telegram, Slack and most senders stay far below it). */
export const HOOK_MAX_BODY = 256 * 1024;
/** What the agent accepts on the hook route: the body travels base64 inside JSON. */
export const HOOK_RELAY_MAX_BYTES = Math.ceil((HOOK_MAX_BODY * 4) / 3) + 64 * 1024;

/** One inbound webhook, relayed server → agent → container; the body is never kept by either. */
export type HookRelayRequest = {
  /** After the hook secret: `/telegram`, with its query string. */
  path: string;
  /** GET only for a platform's verification handshake (WhatsApp's `hub.challenge`); no body then. */
  method: "POST" | "GET";
  headers: Record<string, string>;
  bodyBase64: string;
};

export type HookRelayResponse = {
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
};

/** A request to a container's app (its own origin, `<slug>.<apps domain>`), relayed the same way. */
export type AppRelayRequest = Omit<HookRelayRequest, "method"> & { method: AppMethod };
export const APP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type AppMethod = (typeof APP_METHODS)[number];

/** Checks a relayed app request; a string says what is wrong. */
export function parseAppRelayRequest(input: unknown): AppRelayRequest | string {
  const method = (input as { method?: unknown } | null)?.method;
  if (typeof method !== "string" || !(APP_METHODS as readonly string[]).includes(method))
    return "method not relayed";
  const parsed = parseHookRelayRequest({ ...(input as object), method: "POST" });
  return typeof parsed === "string" ? parsed : { ...parsed, method: method as AppMethod };
}

const HOOK_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/%?-]{0,1023}$/;

/** Checks a relayed hook request; a string says what is wrong. */
export function parseHookRelayRequest(input: unknown): HookRelayRequest | string {
  if (!input || typeof input !== "object") return "the body must be an object";
  const body = input as Record<string, unknown>;
  if (typeof body.path !== "string" || !HOOK_PATH.test(body.path) || body.path.includes(".."))
    return "bad path";
  if (body.method !== "POST" && body.method !== "GET")
    return "only POST (and GET, for verification) is relayed";
  if (typeof body.bodyBase64 !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(body.bodyBase64))
    return "bodyBase64 must be base64";
  if (body.method === "GET" && body.bodyBase64 !== "") return "a GET carries no body";
  const headers = body.headers;
  if (!headers || typeof headers !== "object" || Array.isArray(headers)) return "headers must be an object";
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(name) || typeof value !== "string" || value.length > 8192)
      return `bad header ${name.slice(0, 64)}`;
  }
  return {
    path: body.path,
    method: body.method,
    headers: headers as Record<string, string>,
    bodyBase64: body.bodyBase64,
  };
}

// v1: `v1\n<METHOD>\n…` under a cluster secret every agent shares (root on one node could then
// command all of them). v2: `v2\n<node id>\n<METHOD>\n…` under a secret minted for that node alone,
// so a signature made for one node is worthless on another.
function canonical(
  nodeId: string | null,
  method: string,
  pathAndQuery: string,
  timestamp: string,
  nonce: string,
  bodyHash: string,
): string {
  const rest = `${method.toUpperCase()}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${bodyHash}`;
  return nodeId === null ? `v1\n${rest}` : `v2\n${nodeId}\n${rest}`;
}

export const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

async function hmacHex(secret: Uint8Array<ArrayBuffer>, message: string): Promise<string> {
  return encodeHexLowerCase(await hmacSha256(secret, message));
}

export async function signRequest(
  key: ClusterKey,
  method: string,
  pathAndQuery: string,
  body: Uint8Array | string = "",
  now = Date.now(),
  /** Set: a v2 signature bound to this node (with that node's own secret). */
  nodeId: string | null = null,
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  const nonce = encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(16)));
  const signature = await hmacHex(
    key.secret,
    canonical(nodeId, method, pathAndQuery, timestamp, nonce, sha256Hex(body)),
  );
  return {
    [SIGNATURE_HEADERS.keyId]: key.id,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    ...(nodeId === null ? {} : { [SIGNATURE_HEADERS.nodeId]: nodeId }),
    [SIGNATURE_HEADERS.signature]: `${nodeId === null ? "v1" : "v2"}=${signature}`,
  };
}

/** What an agent accepts: v2 for its own node id (its node secrets); v1 only with cluster secrets. */
export type VerifierKeys = { cluster: ClusterKey[]; node?: { nodeId: string; keys: ClusterKey[] } };

export type VerifyResult = { ok: true; keyId: string } | { ok: false; reason: string };

/** Checks a signed request; remembers nonces for the window so a replay is refused. */
export class RequestVerifier {
  private seen = new Map<string, number>();
  private prunedAt = 0;
  private readonly accepted: VerifierKeys;
  constructor(
    keys: ClusterKey[] | VerifierKeys,
    private readonly windowSeconds = SIGNATURE_WINDOW_SECONDS,
  ) {
    this.accepted = Array.isArray(keys) ? { cluster: keys } : keys;
  }

  async verify(
    method: string,
    pathAndQuery: string,
    headers: Headers,
    body: Uint8Array | string,
    now = Date.now(),
  ): Promise<VerifyResult> {
    const keyId = headers.get(SIGNATURE_HEADERS.keyId);
    const timestamp = headers.get(SIGNATURE_HEADERS.timestamp) ?? "";
    const nonce = headers.get(SIGNATURE_HEADERS.nonce) ?? "";
    const signature = headers.get(SIGNATURE_HEADERS.signature) ?? "";
    const version = signature.startsWith("v2=") ? "v2" : "v1";
    const node = this.accepted.node;
    let boundTo: string | null = null;
    if (version === "v2") {
      const claimed = headers.get(SIGNATURE_HEADERS.nodeId);
      if (!node) return { ok: false, reason: "v2 signatures need a node id and node secret here" };
      if (claimed !== node.nodeId) return { ok: false, reason: "request meant for another node" };
      boundTo = node.nodeId;
    } else if (this.accepted.cluster.length === 0) {
      return { ok: false, reason: "v1 signatures are accepted only while CLAWFLEET_CLUSTER_SECRETS is set" };
    }
    // v1 only ever with a cluster secret: a node's own secret signs for that node alone (v2).
    const candidates =
      version === "v2" ? [...(node?.keys ?? []), ...this.accepted.cluster] : this.accepted.cluster;
    const key = candidates.find((k) => k.id === keyId);
    if (!key) return { ok: false, reason: "unknown key id" };
    if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "malformed timestamp" };
    if (Math.abs(Number(timestamp) - now / 1000) > this.windowSeconds)
      return { ok: false, reason: "timestamp outside the window" };
    if (!/^[A-Za-z0-9_-]{22,128}$/.test(nonce))
      return { ok: false, reason: "nonce must be at least 128 bits of base64url" };
    const expected = `${version}=${await hmacHex(key.secret, canonical(boundTo, method, pathAndQuery, timestamp, nonce, sha256Hex(body)))}`;
    if (!constantTimeEqual(signature, expected)) {
      return { ok: false, reason: "bad signature" };
    }
    this.prune(now);
    if (this.seen.has(nonce)) return { ok: false, reason: "replayed nonce" };
    this.seen.set(nonce, now + this.windowSeconds * 2000);
    return { ok: true, keyId: key.id };
  }

  /** Forgets nonces whose request could no longer pass the timestamp check anyway. */
  private prune(now: number) {
    if (now - this.prunedAt < 1000) return;
    this.prunedAt = now;
    // Insertion order is expiry order: stop at the first nonce still inside its window.
    for (const [nonce, expires] of this.seen) {
      if (expires >= now) break;
      this.seen.delete(nonce);
    }
  }
}

/** What can change on a live container (the disk size cannot: it applies at the next spawn). */
export type LiveLimits = Pick<PlanLimits, "cpuMillis" | "memoryMb" | "pidsLimit">;

const LIVE_LIMIT_BOUNDS: Record<keyof LiveLimits, [number, number]> = {
  cpuMillis: [100, 64_000],
  memoryMb: [64, 262_144],
  pidsLimit: [16, 32_768],
};

/** Parses a POST /v1/containers/:id/limits body strictly; a message for a 400 otherwise. */
export function parseLiveLimits(input: unknown): LiveLimits | string {
  if (!input || typeof input !== "object" || Array.isArray(input)) return "body must be a JSON object";
  const body = input as Record<string, unknown>;
  const extra = Object.keys(body).filter((k) => !(k in LIVE_LIMIT_BOUNDS));
  if (extra.length) return `unknown limit(s): ${extra.join(", ")}`;
  for (const [k, [min, max]] of Object.entries(LIVE_LIMIT_BOUNDS)) {
    const v = body[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      return `${k} must be an integer from ${min} to ${max}`;
  }
  return body as LiveLimits;
}

const SPEC_KEYS = ["sessionId", "template", "limits", "volume", "replace"];
const LIMIT_KEYS = ["cpuMillis", "memoryMb", "pidsLimit", "diskMb"];

/** Parses a POST /v1/containers body strictly; returns a message for a 400 on anything unexpected. */
export function parseContainerSpec(input: unknown): ContainerSpec | string {
  if (!input || typeof input !== "object" || Array.isArray(input)) return "body must be a JSON object";
  const body = input as Record<string, unknown>;
  const extra = Object.keys(body).filter((k) => !SPEC_KEYS.includes(k));
  if (extra.length) return `unknown field(s): ${extra.join(", ")} (raw Docker options are never accepted)`;
  if (typeof body.sessionId !== "string" || !SESSION_ID.test(body.sessionId))
    return "sessionId must be a lower-case UUID";
  if (typeof body.template !== "string" || !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(body.template))
    return "template must be a template name";
  const limits = body.limits as Record<string, unknown> | undefined;
  if (!limits || typeof limits !== "object") return "limits are required";
  const extraLimits = Object.keys(limits).filter((k) => !LIMIT_KEYS.includes(k));
  if (extraLimits.length) return `unknown limit(s): ${extraLimits.join(", ")}`;
  const bounds: Record<string, [number, number]> = {
    cpuMillis: [100, 64_000],
    memoryMb: [64, 262_144],
    pidsLimit: [16, 32_768],
    diskMb: [64, 1_048_576],
  };
  for (const [k, [min, max]] of Object.entries(bounds)) {
    const v = limits[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
      return `limits.${k} must be an integer from ${min} to ${max}`;
  }
  const volume = parseVolumeKey(body.volume);
  if (typeof volume === "string") return volume;
  if (body.replace !== undefined && typeof body.replace !== "boolean") return "replace must be true or false";
  return {
    sessionId: body.sessionId,
    template: body.template,
    limits: limits as PlanLimits,
    ...(volume ? { volume } : {}),
    ...(body.replace === true ? { replace: true } : {}),
  };
}

const BASE64_32_BYTES = /^[A-Za-z0-9+/]{43}=$/;

function parseVolumeKey(input: unknown): VolumeKey | null | string {
  if (input === undefined) return null;
  if (!input || typeof input !== "object" || Array.isArray(input)) return "volume must be an object";
  const extra = Object.keys(input).filter((k) => k !== "key" && k !== "fresh");
  if (extra.length) return `unknown volume field(s): ${extra.join(", ")}`;
  const { key, fresh } = input as { key?: unknown; fresh?: unknown };
  if (typeof key !== "string" || !BASE64_32_BYTES.test(key)) return "volume.key must be 32 bytes of base64";
  if (fresh !== undefined && typeof fresh !== "boolean") return "volume.fresh must be true or false";
  return fresh === true ? { key, fresh } : { key };
}

/** Parses a POST /v1/containers/:id/volume body: `{diskMb}` within the spec's bounds. */
export function parseGrowVolumeRequest(input: unknown): GrowVolumeRequest | string {
  if (!input || typeof input !== "object" || Array.isArray(input)) return "body must be a JSON object";
  const extra = Object.keys(input).filter((k) => k !== "diskMb");
  if (extra.length) return `unknown field(s): ${extra.join(", ")}`;
  const diskMb = (input as { diskMb?: unknown }).diskMb;
  if (typeof diskMb !== "number" || !Number.isInteger(diskMb) || diskMb < 64 || diskMb > 1_048_576)
    return "diskMb must be an integer from 64 to 1048576";
  return { diskMb };
}

/** Parses a restore body (empty, or `{volume: {key}}`) as strictly as a spawn. */
export function parseRestoreRequest(input: unknown): RestoreRequest | string {
  if (input === undefined) return {};
  if (!input || typeof input !== "object" || Array.isArray(input)) return "body must be a JSON object";
  const extra = Object.keys(input).filter((k) => k !== "volume");
  if (extra.length) return `unknown field(s): ${extra.join(", ")}`;
  const volume = parseVolumeKey((input as { volume?: unknown }).volume);
  if (typeof volume === "string") return volume;
  return volume ? { volume } : {};
}
