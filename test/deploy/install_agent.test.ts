import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/process.ts";

const script = join(import.meta.dir, "../../deploy/install-agent.sh");

function install(root: string, extra: string[] = []) {
  const binary = join(root, "..", "fake-agent");
  writeFileSync(binary, "#!/bin/sh\necho agent\n", { mode: 0o755 });
  return Bun.spawnSync(["bash", script, "--root", root, "--binary", binary, ...extra], {
    stdout: "pipe",
    stderr: "pipe",
  });
}

test("installs the binary, a 0600 env file, the systemd unit and the daemon settings into a root", () => {
  const root = join(tempDir("cf-install"), "root");
  mkdirSync(join(root, "etc/docker"), { recursive: true });
  writeFileSync(
    join(root, "etc/docker/daemon.json"),
    JSON.stringify({ "data-root": "/srv/docker", "log-opts": { "max-size": "50m" } }),
  );
  const result = install(root, ["--secret", "k9:this-is-the-shared-cluster-secret-value"]);
  expect(result.stderr.toString()).toBe("");
  expect(result.exitCode).toBe(0);
  expect(statSync(join(root, "usr/local/bin/clawfleet-agent")).mode & 0o777).toBe(0o755);
  const envFile = join(root, "etc/clawfleet/agent.env");
  expect(statSync(envFile).mode & 0o777).toBe(0o600);
  expect(readFileSync(envFile, "utf8")).toContain(
    "CLAWFLEET_CLUSTER_SECRETS=k9:this-is-the-shared-cluster-secret-value",
  );
  const unit = readFileSync(join(root, "etc/systemd/system/clawfleet-agent.service"), "utf8");
  expect(unit).toContain("ExecStart=/usr/local/bin/clawfleet-agent run");
  expect(unit).toContain("EnvironmentFile=/etc/clawfleet/agent.env");
  expect(unit).toContain("NoNewPrivileges=yes");
  expect(unit).toMatch(/^MemoryMax=\d+[MG]$/m);
  const daemon = JSON.parse(readFileSync(join(root, "etc/docker/daemon.json"), "utf8"));
  expect(daemon).toMatchObject({
    "userns-remap": "default",
    "live-restore": true,
    "data-root": "/srv/docker",
    icc: false,
  });
  expect(daemon["log-opts"]).toEqual({ "max-size": "50m", "max-file": "3" });
  expect(readFileSync(join(root, "etc/subuid"), "utf8")).toBe("dockremap:100000:65536\n");
  expect(result.stdout.toString()).toContain("clawfleet nodes add");
});

test("is idempotent and keeps an existing secret; generates one when none is given", () => {
  const root = join(tempDir("cf-install"), "root");
  expect(install(root).exitCode).toBe(0);
  const first = readFileSync(join(root, "etc/clawfleet/agent.env"), "utf8");
  expect(first).toMatch(/CLAWFLEET_CLUSTER_SECRETS=k1:[A-Za-z0-9_-]{40,}/);
  expect(install(root, ["--secret", "other:ignored-because-a-file-exists-already"]).exitCode).toBe(0);
  expect(readFileSync(join(root, "etc/clawfleet/agent.env"), "utf8")).toBe(first);
  expect(readFileSync(join(root, "etc/subgid"), "utf8")).toBe("dockremap:100000:65536\n");
});

test("refuses to run without a binary", () => {
  const root = join(tempDir("cf-install"), "root");
  const result = Bun.spawnSync(["bash", script, "--root", root], { stderr: "pipe" });
  expect(result.exitCode).toBe(64);
  expect(result.stderr.toString()).toContain("--binary");
  expect(existsSync(join(root, "etc"))).toBe(false);
});

test("the project's own daemon settings, used by CI, carry the same requirements", () => {
  const daemon = JSON.parse(readFileSync(join(import.meta.dir, "../../deploy/daemon.json"), "utf8"));
  expect(daemon).toMatchObject({ "userns-remap": "default", "live-restore": true });
  expect(daemon["log-opts"]["max-size"]).toBeString();
});
