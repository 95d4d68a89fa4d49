// Per-node secrets end to end: `nodes add` mints a secret for one node, the server signs for that
// node with it (v2, bound to the node), an agent holding only its own secret serves the server, and
// another node's agent refuses the same signature. The secret is stored only sealed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { AgentClient } from "../../agent/api/client.ts";
import type { RunningAgent } from "../../agent/server.ts";
import { ensureCertificate } from "../../agent/tls.ts";
import { parseKeyring } from "../../common/keyring.ts";
import { rowsOf } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { mintNodeSecret } from "../../src/fleet/node_secrets.ts";
import { addNode } from "../../src/fleet/nodes.ts";
import { DRIVERS } from "../helpers/db.ts";
import { cleanupNode, startTestAgent } from "../helpers/fleet.ts";
import { freePort, tempDir } from "../helpers/process.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

for (const driver of DRIVERS) {
  describe(`per-node secrets [${driver}]`, () => {
    let server: TestServer;
    let agent: RunningAgent;
    let other: RunningAgent;
    let env = "";
    const name = `edge-${crypto.randomUUID().slice(0, 6)}`;

    beforeAll(async () => {
      // No CLAWFLEET_CLUSTER_SECRETS anywhere: only per-node secrets can sign.
      server = await startTestServer(driver);
      const dataDir = tempDir("cf-agent-own");
      const port = await freePort();
      const { fingerprint } = await ensureCertificate(dataDir, null);
      const node = await addNode(server.ctx.database.db, {
        name,
        url: `https://127.0.0.1:${port}`,
        fingerprint,
      });
      env = (await mintNodeSecret(server.ctx.database.db, server.ctx.keyring, node)).env;
      const vars = Object.fromEntries(env.split("\n").map((line) => line.split(/=(.*)/s).slice(0, 2)));
      agent = await startTestAgent({
        CLAWFLEET_CLUSTER_SECRETS: "",
        CLAWFLEET_AGENT_DATA_DIR: dataDir,
        CLAWFLEET_AGENT_LISTEN: `127.0.0.1:${port}`,
        CLAWFLEET_NODE_ID: vars.CLAWFLEET_NODE_ID ?? "",
        CLAWFLEET_NODE_SECRETS: vars.CLAWFLEET_NODE_SECRETS ?? "",
      });
      // Another node given the very same secret (the worst case): a signature for `name` is still refused.
      other = await startTestAgent({
        CLAWFLEET_CLUSTER_SECRETS: "",
        CLAWFLEET_NODE_ID: "edge-other",
        CLAWFLEET_NODE_SECRETS: vars.CLAWFLEET_NODE_SECRETS ?? "",
      });
    });
    afterAll(async () => {
      await server?.close();
      for (const a of [agent, other]) {
        await a?.stop();
        if (a) await cleanupNode(a.nodeId);
      }
    });

    test("the server signs for the node with its own secret (v2), and the agent serves it", async () => {
      expect(env).toMatch(
        new RegExp(`^CLAWFLEET_NODE_ID=${name}\\nCLAWFLEET_NODE_SECRETS=node:[A-Za-z0-9_-]{43}$`),
      );
      const [node] = await asSystem(server.ctx.database.db, (tx) =>
        tx.execute(sql`select * from nodes where name = ${name}`),
      ).then((r) => rowsOf<Record<string, unknown>>(r));
      const health = await server.lifecycle.fleet
        .agentFor({
          id: String(node?.id),
          url: String(node?.url),
          fingerprint: String(node?.fingerprint),
          name,
          secretKeyId: node?.secret_key_id as string,
          secretNonce: node?.secret_nonce as Uint8Array,
          secretCiphertext: node?.secret_ciphertext as Uint8Array,
        })
        .health();
      expect(health.nodeId).toBe(name);
    });

    test("another node refuses a request signed for this one, and v1 is refused without cluster secrets", async () => {
      const secret = env.split("CLAWFLEET_NODE_SECRETS=")[1] ?? "";
      const keys = parseKeyring("CLAWFLEET_NODE_SECRETS", secret, "secret");
      const forThisNode = new AgentClient({
        url: other.url,
        fingerprint: other.fingerprint,
        keys,
        nodeId: name,
      });
      await expect(forThisNode.health()).rejects.toMatchObject({ status: 401 });
      const v1 = new AgentClient({ url: agent.url, fingerprint: agent.fingerprint, keys });
      await expect(v1.health()).rejects.toMatchObject({ status: 401 });
    });

    test("the secret is stored only sealed", async () => {
      const secret = (env.split("CLAWFLEET_NODE_SECRETS=node:")[1] ?? "").trim();
      expect(secret.length).toBe(43);
      const dump = rowsOf<Record<string, unknown>>(
        await asSystem(server.ctx.database.db, (tx) => tx.execute(sql`select * from nodes`)),
      );
      const text = JSON.stringify(dump, (_k, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v,
      );
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString("base64"));
    });
  });
}
