// `npm run image:server`: builds the server image `clawfleet:<version>` offline from ./Dockerfile.
import { join } from "node:path";
import pkg from "../package.json";
import { buildScratchRootfs } from "./lib/scratch_rootfs.ts";

const root = join(import.meta.dir, "..");
const context = join(root, "dist/image-server");
const tag = `clawfleet:${pkg.version}`;

function run(cmd: string[]) {
  const proc = Bun.spawnSync(cmd, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if (proc.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${proc.exitCode}`);
}

run([process.execPath, "scripts/build.ts", "clawfleet"]);
buildScratchRootfs({
  dir: join(context, "rootfs"),
  binary: join(root, "dist/clawfleet"),
  binaryPath: "clawfleet",
  user: { name: "clawfleet", uid: 10001 },
  emptyDirs: [
    { path: "data", mode: 0o777 },
    { path: "tmp", mode: 0o1777 },
  ],
});
await Bun.write(join(context, "Dockerfile"), Bun.file(join(root, "Dockerfile")));
run(["docker", "build", "-q", "-t", tag, context]);
console.log(tag);
