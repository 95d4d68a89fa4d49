// Shared by the image scripts: lays out a minimal root filesystem for a FROM scratch image around a
// Bun-compiled binary: the binary, the shared libraries `ldd` says it links, and passwd/group entries.
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export function linkedLibraries(binary: string): string[] {
  const out = Bun.spawnSync(["ldd", binary]).stdout.toString();
  const libs = new Set<string>();
  for (const line of out.split("\n")) {
    const match = /(\/\S+)\s+\(0x/.exec(line);
    if (match?.[1]) libs.add(match[1]);
  }
  return [...libs];
}

export type RootfsOptions = {
  dir: string;
  binary: string;
  binaryPath: string;
  user: { name: string; uid: number };
  emptyDirs: { path: string; mode: number }[];
};

export function buildScratchRootfs(opts: RootfsOptions): void {
  rmSync(opts.dir, { recursive: true, force: true });
  mkdirSync(opts.dir, { recursive: true });
  const target = join(opts.dir, opts.binaryPath);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(opts.binary, target);
  chmodSync(target, 0o755);
  for (const lib of linkedLibraries(opts.binary)) {
    const dest = join(opts.dir, lib);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(lib, dest);
  }
  mkdirSync(join(opts.dir, "etc"), { recursive: true });
  const { name, uid } = opts.user;
  writeFileSync(
    join(opts.dir, "etc/passwd"),
    `root:x:0:0:root:/:/sbin/nologin\n${name}:x:${uid}:${uid}::/data:/sbin/nologin\n`,
  );
  writeFileSync(join(opts.dir, "etc/group"), `root:x:0:\n${name}:x:${uid}:\n`);
  for (const { path, mode } of opts.emptyDirs) {
    const full = join(opts.dir, path);
    mkdirSync(full, { recursive: true });
    chmodSync(full, mode);
  }
}
