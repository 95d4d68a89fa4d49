// The runtime's logger: src/log.ts's JSON lines (which redact secret-shaped fields and text), with
// every secret value the runtime knows removed from the finished line before it is written.
import type { LogLevel } from "../common/log.ts";
import { createLogger, type Logger, type LogSink } from "../common/log.ts";
import type { Scrubber } from "./scrub.ts";

export function createRuntimeLogger(level: LogLevel, scrubber: Scrubber, sink?: LogSink): Logger {
  const write = sink ?? ((line: string) => process.stdout.write(`${line}\n`));
  return createLogger(level, { service: "clawfleet-runtime" }, (line) => write(scrubber.scrub(line)));
}
