// Runtime templates: which image a user's container runs and how it is wired. Only images named by a
// configured template may run (the allow-list). Admins add templates with a JSON file
// (CLAWFLEET_AGENT_TEMPLATES): an array of objects of the Template shape below.
import pkg from "../package.json";

export type Template = {
  name: string;
  image: string;
  /** The gateway's port inside the container (published on 127.0.0.1 only). */
  port: number;
  /** The gateway's WebSocket path. */
  gatewayPath: string;
  command?: string[];
  user: string;
  dataPath: string;
  health: { path: string; timeoutMs: number };
  /**
   * Provider → the key variable the image reads. It receives the provider gateway's per-container
   * credential, never a key; every template also gets the SDK base-URL variables pointing at the
   * gateway (provider_gateway/providers.ts), OpenClaw's preset included.
   */
  keyEnv: Record<string, string>;
  /** The variable carrying the per-container gateway token. */
  tokenEnv: string;
  env?: Record<string, string>;
  /** Sets NODE_OPTIONS=--max-old-space-size below the memory limit (Node-based images). */
  nodeHeap?: boolean;
  shell: string[];
  /** Where inbound webhooks go on the gateway port (`/hooks/<slug>/<secret>/x` → `<hookPath>/x`). */
  hookPath?: string;
  /** The port of the template's web app (its own origin); only the gateway port is published, so it must be that one. */
  appPort?: number;
};

const KEY_ENV = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  openrouter: "OPENROUTER_API_KEY",
  google: "GEMINI_API_KEY",
};

export const BUILTIN_TEMPLATES: Template[] = [
  {
    name: "clawfleet-runtime",
    image: `clawfleet-runtime:${pkg.version}`,
    port: 8080,
    gatewayPath: "/gateway",
    user: "1000:1000",
    dataPath: "/data",
    health: { path: "/healthz", timeoutMs: 60_000 },
    keyEnv: KEY_ENV,
    tokenEnv: "CLAWFLEET_GATEWAY_TOKEN",
    shell: ["/bin/sh"],
  },
  {
    // Built offline from npm by `npm run image:openclaw` (scripts/image_openclaw.ts, docs/OPENCLAW.md);
    // the image's entrypoint is node + openclaw, its configuration reads the token and the provider
    // base URLs from the environment. Operators may point the template at another image.
    name: "openclaw",
    image: "clawfleet-openclaw:2026.9.6",
    port: 18789,
    gatewayPath: "/",
    command: ["gateway", "--bind", "lan", "--port", "18789", "--auth", "token"],
    user: "1000:1000",
    dataPath: "/data",
    // /readyz, not /: the Control UI page answers while the gateway still refuses WebSocket connects.
    health: { path: "/readyz", timeoutMs: 120_000 },
    keyEnv: KEY_ENV,
    tokenEnv: "OPENCLAW_GATEWAY_TOKEN",
    nodeHeap: true,
    // OpenClaw's gateway takes webhooks on its own port under /hooks.
    hookPath: "/hooks",
    // The Control UI is served by the gateway itself.
    appPort: 18789,
    shell: ["/bin/sh"],
  },
];

export class TemplateError extends Error {}

const FIELDS = new Set([
  "name",
  "image",
  "port",
  "gatewayPath",
  "command",
  "user",
  "dataPath",
  "health",
  "keyEnv",
  "tokenEnv",
  "env",
  "nodeHeap",
  "shell",
  "hookPath",
  "appPort",
]);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const URL_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*$/;

const isStringArray = (v: unknown) =>
  Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === "string" && s.length > 0);

/** An admin's template: only the fields above, each checked; defaults fill the optional ones. */
function validate(raw: unknown, index: number): Template {
  const where = `template ${index + 1}`;
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new TemplateError(`${where}: must be an object`);
  const t = raw as Record<string, unknown>;
  const unknown = Object.keys(t).filter((k) => !FIELDS.has(k));
  if (unknown.length) throw new TemplateError(`${where}: unknown field(s) ${unknown.join(", ")}`);
  const fail = (what: string) => new TemplateError(`${where}: ${what}`);
  if (typeof t.name !== "string" || !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(t.name)) throw fail("bad name");
  if (typeof t.image !== "string" || !/^[a-zA-Z0-9][a-zA-Z0-9._/:@-]{0,250}$/.test(t.image))
    throw fail("bad image");
  if (!Number.isInteger(t.port) || (t.port as number) < 1 || (t.port as number) > 65535)
    throw fail("bad port");
  if (typeof t.dataPath !== "string" || !/^\/[A-Za-z0-9._/-]+$/.test(t.dataPath) || t.dataPath.includes(".."))
    throw fail("bad dataPath");
  if (typeof t.user !== "string") throw fail("user must be set (uid:gid)");
  const userProblem = nonRootUserProblem(t.user);
  if (userProblem) throw fail(userProblem);
  if (t.gatewayPath !== undefined && (typeof t.gatewayPath !== "string" || !URL_PATH.test(t.gatewayPath)))
    throw fail("bad gatewayPath");
  const health = t.health as Record<string, unknown> | undefined;
  if (
    health !== undefined &&
    (typeof health !== "object" ||
      typeof health.path !== "string" ||
      !URL_PATH.test(health.path) ||
      !Number.isInteger(health.timeoutMs) ||
      (health.timeoutMs as number) < 1000 ||
      (health.timeoutMs as number) > 600_000)
  )
    throw fail("health must be {path, timeoutMs (1000 to 600000)}");
  if (t.keyEnv !== undefined) {
    const keyEnv = t.keyEnv as Record<string, unknown>;
    if (!keyEnv || typeof keyEnv !== "object") throw fail("keyEnv must map providers to variable names");
    for (const [provider, name] of Object.entries(keyEnv)) {
      if (!(provider in KEY_ENV)) throw fail(`keyEnv: unknown provider ${provider}`);
      if (typeof name !== "string" || !ENV_NAME.test(name))
        throw fail(`keyEnv.${provider}: bad variable name`);
    }
  }
  if (t.tokenEnv !== undefined && (typeof t.tokenEnv !== "string" || !ENV_NAME.test(t.tokenEnv)))
    throw fail("bad tokenEnv");
  if (t.env !== undefined) {
    if (!t.env || typeof t.env !== "object" || Array.isArray(t.env)) throw fail("env must be an object");
    for (const [name, value] of Object.entries(t.env)) {
      if (!ENV_NAME.test(name) || typeof value !== "string") throw fail(`env.${name}: bad variable`);
    }
  }
  if (t.command !== undefined && !isStringArray(t.command)) throw fail("command must be a list of strings");
  if (t.shell !== undefined && !isStringArray(t.shell)) throw fail("shell must be a list of strings");
  if (
    t.hookPath !== undefined &&
    (typeof t.hookPath !== "string" || !URL_PATH.test(t.hookPath) || t.hookPath.includes(".."))
  )
    throw fail("bad hookPath");
  if (t.appPort !== undefined && t.appPort !== t.port)
    throw fail("appPort must be the template's port (the one port published on the node)");
  if (t.nodeHeap !== undefined && typeof t.nodeHeap !== "boolean")
    throw fail("nodeHeap must be true or false");
  return {
    gatewayPath: "/",
    health: { path: "/", timeoutMs: 60_000 },
    keyEnv: KEY_ENV,
    tokenEnv: "CLAWFLEET_GATEWAY_TOKEN",
    shell: ["/bin/sh"],
    ...t,
  } as unknown as Template;
}

export function loadTemplates(extraJson: string | null): Template[] {
  const all = [...BUILTIN_TEMPLATES];
  if (extraJson) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(extraJson);
    } catch {
      throw new TemplateError("the templates file is not valid JSON");
    }
    if (!Array.isArray(parsed)) throw new TemplateError("the templates file must hold a JSON array");
    parsed.forEach((raw, i) => {
      const template = validate(raw, i);
      const existing = all.findIndex((t) => t.name === template.name);
      if (existing >= 0) all[existing] = template;
      else all.push(template);
    });
  }
  return all;
}

/**
 * The container's user as numbers, neither of them 0. A name is refused because the agent cannot see
 * what the image's /etc/passwd maps it to (`toor` may well be uid 0), and `00` or `1000:0` are root
 * (or root's group) however they are spelled.
 */
export function nonRootUserProblem(user: string): string | null {
  const match = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(user);
  if (!match) return "user must be numeric uid:gid (names can map to root inside the image)";
  const [uid, gid] = [Number(match[1]), match[2] === undefined ? null : Number(match[2])];
  if (uid === 0 || gid === 0) return "user must not be root (uid 0) or in root's group (gid 0)";
  if (uid > 4294967294 || (gid !== null && gid > 4294967294)) return "user ids must be below 2^32 - 1";
  return null;
}
