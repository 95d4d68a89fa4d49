// Builds `clawfleet-testbox:1`, a tiny FROM scratch image for the agent's tests: the Bun-compiled
// server.ts with the libraries it links, uid 1000, an empty /data. Its template is registered through
// CLAWFLEET_AGENT_TEMPLATES like an admin's would be. Rebuilt only when its content hash changes.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildScratchRootfs, linkedLibraries } from "../../../scripts/lib/scratch_rootfs.ts";
import { tempDir } from "../../helpers/process.ts";

export const TESTBOX_IMAGE = "clawfleet-testbox:1";
const HASH_LABEL = "clawfleet.content-hash";

export const TESTBOX_TEMPLATE = {
  name: "testbox",
  image: TESTBOX_IMAGE,
  port: 8080,
  gatewayPath: "/gateway",
  user: "1000:1000",
  dataPath: "/data",
  health: { path: "/healthz", timeoutMs: 20_000 },
  shell: ["/testbox"],
};

function run(cmd: string[], cwd?: string): string {
  const proc = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${proc.stderr.toString().trim()}`);
  return proc.stdout.toString();
}

function contentHash(): string {
  const hash = createHash("sha256");
  hash.update(`${Bun.version} ${Bun.revision}\0`);
  for (const file of [
    join(import.meta.dir, "server.ts"),
    import.meta.path,
    ...linkedLibraries(process.execPath),
  ])
    hash.update(readFileSync(file));
  return hash.digest("hex");
}

let built: Promise<void> | null = null;

/** Builds the image once per test process (a no-op when an image with the same content exists). */
export function ensureTestboxImage(): Promise<void> {
  built ??= (async () => {
    const hash = contentHash();
    const current = Bun.spawnSync(
      ["docker", "image", "inspect", "--format", `{{ index .Config.Labels "${HASH_LABEL}" }}`, TESTBOX_IMAGE],
      { stdout: "pipe", stderr: "pipe" },
    );
    if (current.exitCode === 0 && current.stdout.toString().trim() === hash) return;
    const context = tempDir("cf-testbox");
    try {
      const binary = join(context, "testbox-bin");
      run([process.execPath, "build", "--compile", join(import.meta.dir, "server.ts"), "--outfile", binary]);
      buildScratchRootfs({
        dir: join(context, "rootfs"),
        binary,
        binaryPath: "testbox",
        user: { name: "box", uid: 1000 },
        emptyDirs: [
          { path: "tmp", mode: 0o1777 },
          { path: "data", mode: 0o777 },
        ],
      });
      rmSync(binary);
      mkdirSync(join(context, "rootfs", "data"), { recursive: true });
      writeFileSync(
        join(context, "Dockerfile"),
        `FROM scratch\nCOPY rootfs/ /\nLABEL ${HASH_LABEL}=${hash}\nUSER 1000:1000\nEXPOSE 8080\nENTRYPOINT ["/testbox"]\n`,
      );
      run(["docker", "build", "-q", "-t", TESTBOX_IMAGE, context]);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  })();
  return built;
}

/** A templates file naming the testbox, for CLAWFLEET_AGENT_TEMPLATES. */
export async function testboxTemplatesFile(): Promise<string> {
  const path = join(tempDir("cf-templates"), "templates.json");
  await Bun.write(path, JSON.stringify([TESTBOX_TEMPLATE]));
  return path;
}
