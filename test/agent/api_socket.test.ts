// The agent's API socket path (agent/api_socket.ts): one per process, leftovers of dead agents
// removed, live agents' kept, and a data directory too long for a unix socket is a clear error.
import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { apiSocketPath } from "../../agent/api_socket.ts";
import { ConfigError } from "../../common/config_error.ts";
import { tempDir } from "../helpers/process.ts";

test("each agent process has its own socket; a dead agent's is removed, a live one's kept", () => {
  const dir = tempDir("cf-apisock");
  const dead = Bun.spawnSync(["true"]).pid;
  writeFileSync(join(dir, `api-${dead}.sock`), "");
  writeFileSync(join(dir, "api-1.sock"), "");
  writeFileSync(join(dir, "agent-cert.pem"), "kept");
  expect(apiSocketPath(dir)).toBe(join(dir, `api-${process.pid}.sock`));
  expect(existsSync(join(dir, `api-${dead}.sock`))).toBe(false);
  expect(existsSync(join(dir, "api-1.sock"))).toBe(true);
  expect(existsSync(join(dir, "agent-cert.pem"))).toBe(true);
});

test("a data directory too long for a unix socket is refused with the variable's name", () => {
  expect(() => apiSocketPath(tempDir(`cf-${"x".repeat(100)}`))).toThrow(ConfigError);
  expect(() => apiSocketPath(tempDir(`cf-${"x".repeat(100)}`))).toThrow(/CLAWFLEET_AGENT_DATA_DIR/);
});
