// Log sinks for in-process agents and servers: every line is kept for the test to read, and warnings
// and errors also go to stderr, so a failure on a CI machine shows what the agent or server saw.
import type { LogSink } from "../../common/log.ts";

export function keepAndSurface(lines: string[], who: string): LogSink {
  return (line) => {
    lines.push(line);
    const level = levelOf(line);
    if (level === "warn" || level === "error") process.stderr.write(`${who}: ${line.slice(0, 400)}\n`);
  };
}

function levelOf(line: string): unknown {
  try {
    return (JSON.parse(line) as { level?: unknown }).level;
  } catch {
    return undefined;
  }
}
