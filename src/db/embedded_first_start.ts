// A new embedded database is made by PGlite's initdb: a second wasm instance whose memory stays in the
// process's allocator once it is done (~40 MiB resident for as long as the server runs; docs/DATABASE.md).
// `clawfleet serve` therefore makes a new one in a child process, `clawfleet migrate` (which also applies
// the migrations), and opens it when the child is done; a later start finds it made.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../common/log.ts";
import { pgliteDir } from "./client.ts";

/** Makes the data dir's embedded database in a child process, unless it exists (even half made). */
export async function makeEmbeddedDatabaseApart(dataDir: string, log: Logger): Promise<void> {
  if (existsSync(pgliteDir(dataDir))) return;
  // The same CLI: the compiled binary itself, or src/main.ts from a checkout (whatever the entry was).
  const self = Bun.isStandaloneExecutable
    ? [process.execPath]
    : [process.execPath, join(import.meta.dir, "..", "main.ts")];
  const child = Bun.spawn([...self, "migrate", "--data-dir", dataDir], {
    env: process.env,
    stdout: "ignore",
    stderr: "pipe",
  });
  const [code, errors] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`making the embedded database failed (exit ${code}): ${errors.trim()}`);
  log.info("embedded database made", { dataDir });
}
