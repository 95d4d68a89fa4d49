// The server and the agent as real, separate processes (for kill -9 and multi-replica tests).

import { openSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, tempDir, waitForHttp } from "./process.ts";
import { TEST_MASTER_KEYS } from "./server.ts";

const root = join(import.meta.dir, "../..");

export type AgentProcess = {
  url: string;
  fingerprint: string;
  nodeId: string;
  start(): Promise<void>;
  kill(): Promise<void>;
};

export async function agentProcess(
  clusterSecret: string,
  extra: Record<string, string> = {},
): Promise<AgentProcess> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    CLAWFLEET_CLUSTER_SECRETS: clusterSecret,
    CLAWFLEET_AGENT_LISTEN: `127.0.0.1:${port}`,
    CLAWFLEET_AGENT_DATA_DIR: tempDir("cf-agentproc"),
    CLAWFLEET_NODE_ID: `proc-${crypto.randomUUID().slice(0, 8)}`,
    CLAWFLEET_LOG_LEVEL: "warn",
    ...extra,
  };
  const cert = Bun.spawnSync([process.execPath, "agent/main.ts", "cert"], { cwd: root, env });
  const fingerprint = cert.stdout.toString().trim();
  let proc: Subprocess | null = null;
  const url = `https://127.0.0.1:${port}`;
  const handle: AgentProcess = {
    url,
    fingerprint,
    nodeId: env.CLAWFLEET_NODE_ID,
    async start() {
      proc = Bun.spawn([process.execPath, "agent/main.ts", "run"], {
        cwd: root,
        env,
        // Warnings and errors only (CLAWFLEET_LOG_LEVEL=warn): a failure on a CI machine shows them.
        stdout: "inherit",
        stderr: "inherit",
      });
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const answered = await fetch(`${url}/v1/health`, {
          tls: { rejectUnauthorized: false },
        } as RequestInit).then(
          () => true,
          () => false,
        );
        if (answered) return;
        await Bun.sleep(100);
      }
      throw new Error("agent process did not start");
    },
    async kill() {
      proc?.kill("SIGKILL");
      await proc?.exited;
      proc = null;
    },
  };
  await handle.start();
  return handle;
}

export type ServerProcess = { url: string; start(): Promise<void>; kill(): Promise<void> };

export async function serverProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const full = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    PORT: String(port),
    HOST: "127.0.0.1",
    CLAWFLEET_MASTER_KEYS: TEST_MASTER_KEYS,
    CLAWFLEET_DATA_DIR: tempDir("cf-serverproc"),
    CLAWFLEET_ALL_IN_ONE: "off",
    CLAWFLEET_LOG_LEVEL: "warn",
    // Tests sign many users up from 127.0.0.1; the signup throttle has its own test.
    CLAWFLEET_SIGNUP_LIMIT_PER_ADDRESS: "100000",
    CLAWFLEET_SIGNUP_LIMIT_GLOBAL: "100000",
    ...env,
  };
  let proc: Subprocess | null = null;
  const url = `http://127.0.0.1:${port}`;
  const handle: ServerProcess = {
    url,
    async start() {
      // CLAWFLEET_TEST_SERVER_LOG=<file prefix> keeps each replica's log, for debugging a failure.
      const logFile = process.env.CLAWFLEET_TEST_SERVER_LOG;
      proc = Bun.spawn([process.execPath, "src/main.ts", "serve"], {
        cwd: root,
        env: logFile ? { ...full, CLAWFLEET_LOG_LEVEL: "debug" } : full,
        stdout: logFile ? openSync(`${logFile}.${port}.${Date.now()}`, "w") : "inherit",
        stderr: "inherit",
      });
      await waitForHttp(`${url}/readyz`, 30_000);
    },
    async kill() {
      proc?.kill("SIGKILL");
      await proc?.exited;
      proc = null;
    },
  };
  await handle.start();
  return handle;
}
