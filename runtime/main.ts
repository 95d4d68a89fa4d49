#!/usr/bin/env bun
// clawfleet-runtime: the default assistant inside each user's container. Configuration comes only
// from the environment the fleet agent injects (runtime/config.ts, docs/RUNTIME.md).
import { startRuntime } from "./app.ts";
import { loadRuntimeConfig, RuntimeConfigError } from "./config.ts";

// Files the runtime creates in the data volume are for its own user only.
process.umask(0o077);

try {
  const runtime = await startRuntime(loadRuntimeConfig());
  // As PID 1 in the container, a signal without a handler is ignored: stop cleanly on TERM and INT.
  const shutdown = () => {
    void runtime.stop().finally(() => process.exit(0));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
} catch (error) {
  if (error instanceof RuntimeConfigError) {
    process.stderr.write(`clawfleet-runtime: ${error.message}\n`);
    process.exit(78);
  }
  // E.g. a data directory the runtime's user cannot write, or a port already taken.
  process.stderr.write(
    `clawfleet-runtime: cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
