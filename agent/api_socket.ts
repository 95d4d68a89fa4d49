// Where the agent's API server listens: a unix socket in the data directory, one per agent process
// (`api-<pid>.sock`, 0600), so two agents on one data directory never answer for each other. Sockets
// left by agents that are gone are removed at start.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../common/config_error.ts";

/** The longest path a unix socket may have (sun_path is 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** This process's API socket path, after removing those of agents no longer running. */
export function apiSocketPath(dataDir: string): string {
  for (const name of readdirSync(dataDir)) {
    const pid = /^api-(\d+)\.sock$/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !alive(Number(pid)))
      rmSync(join(dataDir, name), { force: true });
  }
  const path = join(dataDir, `api-${process.pid}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
    throw new ConfigError(
      `CLAWFLEET_AGENT_DATA_DIR: "${dataDir}" is too long for the agent's API socket in it (at most ${MAX_SOCKET_PATH - 20} bytes)`,
    );
  rmSync(path, { force: true });
  return path;
}
