#!/usr/bin/env bun
// clawfleet-agent: `run` starts the node agent; `cert` prints the TLS fingerprint to pin.
import { ConfigError } from "../common/config_error.ts";
import { createLogger } from "../common/log.ts";
import { loadAgentConfig } from "./config.ts";
import { IsolationUnavailableError, startAgent } from "./server.ts";
import { ensureCertificate, formatFingerprint } from "./tls.ts";

const USAGE = `clawfleet-agent — runs hardened user containers on this node for clawfleet

Usage: clawfleet-agent <command> [flags]

Commands:
  run     start the agent (HTTPS on CLAWFLEET_AGENT_LISTEN, default 0.0.0.0:7443)
  cert    print this node's certificate fingerprint (give it to \`clawfleet nodes add\`)

Flags: --data-dir DIR, --listen HOST:PORT, --docker-socket PATH, --node-id ID, --templates FILE,
       --blocked CIDR,…, --capacity cpu=N,memory=MB,containers=N, --server-url URL, --allow-rootful,
       --allow-unencrypted-volumes
Environment: CLAWFLEET_CLUSTER_SECRETS (required for run), CLAWFLEET_AGENT_DATA_DIR, CLAWFLEET_AGENT_LISTEN,
       DOCKER_SOCKET, CLAWFLEET_NODE_ID, CLAWFLEET_AGENT_TEMPLATES, CLAWFLEET_AGENT_BLOCKED,
       CLAWFLEET_AGENT_CAPACITY, CLAWFLEET_AGENT_FIREWALL (on|off), CLAWFLEET_TLS_CERT / CLAWFLEET_TLS_KEY,
       CLAWFLEET_LOG_LEVEL, CLAWFLEET_SERVER_URL (where keys come from), CLAWFLEET_SERVER_CA,
       CLAWFLEET_PROVIDER_GATEWAY_PORT, CLAWFLEET_PROVIDER_UPSTREAMS, CLAWFLEET_PROVIDER_CA
See docs/AGENT.md.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === "--help" || command === "-h" || args.includes("--help")) {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === "cert") {
    const config = loadAgentConfig(process.env, args, { needSecrets: false });
    const tls = await ensureCertificate(config.dataDir, config.tls);
    process.stdout.write(`${formatFingerprint(tls.fingerprint)}\n`);
    return 0;
  }
  if (command !== "run") {
    process.stderr.write(`clawfleet-agent: unknown command "${command}"\n`);
    return 64;
  }
  const config = loadAgentConfig(process.env, args);
  const log = createLogger(config.logLevel, { service: "agent", node: config.nodeId });
  const agent = await startAgent(config, log);
  const stop = async () => {
    await agent.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim();
    process.stderr.write(`clawfleet-agent: ${message}\n`);
    process.exit(error instanceof ConfigError ? 78 : error instanceof IsolationUnavailableError ? 77 : 1);
  },
);
