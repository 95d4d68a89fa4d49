// All-in-one mode: with a Docker socket on this machine and no other node registered, `clawfleet
// serve` runs an agent in-process on loopback and registers it as the node "local", so one machine
// works out of the box. Its cluster secret is generated into the data dir unless one is configured.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { loadAgentConfig } from "../../agent/config.ts";
import { type RunningAgent, startAgent } from "../../agent/server.ts";
import type { KeyringEntry } from "../../common/keyring.ts";
import { parseKeyring } from "../../common/keyring.ts";
import type { Logger } from "../../common/log.ts";
import type { ServerConfig } from "../config.ts";
import type { Db } from "../db/client.ts";
import { asSystem } from "../db/rls.ts";
import { nodes } from "../db/schema.ts";
import { addNode, listNodes } from "./nodes.ts";

export const LOCAL_NODE = "local";

function localClusterSecret(dataDir: string): KeyringEntry[] {
  const path = join(dataDir, "cluster.secret");
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    writeFileSync(path, `local:${secret}\n`, { mode: 0o600, flag: "wx" });
  }
  return parseKeyring(path, readFileSync(path, "utf8").trim(), "secret");
}

export async function maybeStartLocalAgent(
  config: ServerConfig,
  db: Db,
  log: Logger,
): Promise<{ agent: RunningAgent; keys: KeyringEntry[] } | null> {
  if (process.env.CLAWFLEET_ALL_IN_ONE === "off" || !existsSync(config.dockerSocket)) return null;
  const others = (await listNodes(db)).filter((n) => n.name !== LOCAL_NODE);
  if (others.length > 0) return null;
  const keys = config.clusterSecrets.length ? config.clusterSecrets : localClusterSecret(config.dataDir);
  const agentConfig = loadAgentConfig(
    {
      CLAWFLEET_CLUSTER_SECRETS: keys.map((k) => `${k.id}:${new TextDecoder().decode(k.secret)}`).join(","),
      CLAWFLEET_AGENT_LISTEN: "127.0.0.1:0",
      CLAWFLEET_AGENT_DATA_DIR: join(config.dataDir, "agent"),
      DOCKER_SOCKET: config.dockerSocket,
      CLAWFLEET_AGENT_TEMPLATES: process.env.CLAWFLEET_AGENT_TEMPLATES,
      CLAWFLEET_AGENT_BLOCKED: process.env.CLAWFLEET_AGENT_BLOCKED,
      CLAWFLEET_EGRESS_ALLOW: process.env.CLAWFLEET_EGRESS_ALLOW,
      CLAWFLEET_AGENT_CAPACITY: process.env.CLAWFLEET_AGENT_CAPACITY,
      CLAWFLEET_AGENT_WARM_POOL: process.env.CLAWFLEET_AGENT_WARM_POOL,
    },
    [
      ...(process.env.CLAWFLEET_ALLOW_ROOTFUL === "1" ? ["--allow-rootful"] : []),
      ...(process.env.CLAWFLEET_ALLOW_UNENCRYPTED_VOLUMES === "1" ? ["--allow-unencrypted-volumes"] : []),
    ],
  );
  const agent = await startAgent(agentConfig, log.child({ service: "agent", node: LOCAL_NODE }), {
    serverLinkedInProcess: true,
  });
  const existing = (await listNodes(db)).find((n) => n.name === LOCAL_NODE);
  if (existing) {
    await asSystem(db, (tx) =>
      tx
        .update(nodes)
        .set({ url: agent.url, fingerprint: agent.fingerprint })
        .where(eq(nodes.id, existing.id)),
    );
  } else {
    await addNode(db, { name: LOCAL_NODE, url: agent.url, fingerprint: agent.fingerprint });
  }
  log.info("all-in-one: local agent running", { url: agent.url });
  return { agent, keys };
}
