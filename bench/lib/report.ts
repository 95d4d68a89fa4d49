// Shared by the bench scripts: percentiles, tables, and replacing one "## Heading" section of
// docs/BENCHMARKS.md (the other sections are left as they are).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

export function writeSection(heading: string, body: string): string {
  const path = join(import.meta.dir, "../../docs/BENCHMARKS.md");
  const section = `## ${heading}\n\n${body.trim()}\n`;
  const current = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
  const start = current.indexOf(`## ${heading}\n`);
  let next: string;
  if (start === -1) next = `${current.trimEnd()}\n\n${section}`;
  else {
    const end = current.indexOf("\n## ", start + 1);
    next = current.slice(0, start) + section + (end === -1 ? "" : current.slice(end + 1));
  }
  writeFileSync(path, next);
  return path;
}
