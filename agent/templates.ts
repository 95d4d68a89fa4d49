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
  /** Provider → environment variable the key is delivered in. */
  keyEnv: Record<string, string>;
  /** The variable carrying the per-container gateway token. */
  tokenEnv: string;
  env?: Record<string, string>;
  /** Sets NODE_OPTIONS=--max-old-space-size below the memory limit (Node-based images). */
  nodeHeap?: boolean;
  shell: string[];
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
    // OpenClaw's gateway image (pulled by the operator; nothing is fetched by the agent).
    name: "openclaw",
    image: "ghcr.io/openclaw/openclaw:latest",
    port: 18789,
    gatewayPath: "/",
    command: ["node", "dist/index.js", "gateway", "--bind", "lan", "--port", "18789"],
    user: "1000:1000",
    dataPath: "/home/node/.openclaw",
    health: { path: "/", timeoutMs: 120_000 },
    keyEnv: KEY_ENV,
    tokenEnv: "OPENCLAW_GATEWAY_TOKEN",
    env: { HOME: "/home/node" },
    nodeHeap: true,
    shell: ["/bin/sh"],
  },
];

export class TemplateError extends Error {}

function validate(raw: unknown, index: number): Template {
  const t = raw as Partial<Template>;
  const where = `template ${index + 1}`;
  if (!t || typeof t !== "object") throw new TemplateError(`${where}: must be an object`);
  if (typeof t.name !== "string" || !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(t.name))
    throw new TemplateError(`${where}: bad name`);
  if (typeof t.image !== "string" || !/^[a-zA-Z0-9][a-zA-Z0-9._/:@-]{0,250}$/.test(t.image))
    throw new TemplateError(`${where}: bad image`);
  if (!Number.isInteger(t.port) || (t.port ?? 0) < 1 || (t.port ?? 0) > 65535)
    throw new TemplateError(`${where}: bad port`);
  if (typeof t.dataPath !== "string" || !t.dataPath.startsWith("/") || t.dataPath === "/")
    throw new TemplateError(`${where}: bad dataPath`);
  if (typeof t.user !== "string" || /^(0|root)(:|$)/.test(t.user))
    throw new TemplateError(`${where}: user must be set and not root`);
  return {
    gatewayPath: "/",
    health: { path: "/", timeoutMs: 60_000 },
    keyEnv: KEY_ENV,
    tokenEnv: "CLAWFLEET_GATEWAY_TOKEN",
    shell: ["/bin/sh"],
    ...t,
  } as Template;
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
