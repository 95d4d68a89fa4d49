// `npm run build`: compiles the server and the agent into standalone binaries in dist/.
// Everything they need at run time (migrations, views, htmx, PGlite's wasm and data) is embedded.
import { mkdirSync } from "node:fs";

const targets = [
  { entry: "src/main.ts", out: "dist/clawfleet" },
  { entry: "agent/main.ts", out: "dist/clawfleet-agent" },
];

mkdirSync("dist", { recursive: true });
const only = process.argv[2];
for (const target of targets) {
  if (only && !target.out.endsWith(only)) continue;
  if (!(await Bun.file(target.entry).exists())) {
    console.error(`build: ${target.entry} is missing`);
    process.exit(1);
  }
  const proc = Bun.spawnSync(
    [
      process.execPath,
      "build",
      "--compile",
      "--minify-syntax",
      "--sourcemap",
      target.entry,
      "--outfile",
      target.out,
    ],
    { stdout: "inherit", stderr: "inherit" },
  );
  if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
}
