// The houses and their doors (docs/ARCHITECTURE.md): agent/ and runtime/ import nothing from src/ or
// views/, common/ imports neither side, and the server reaches the agent's code only through its
// published contract (agent/api/) — plus the in-process all-in-one agent, which starts it whole.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { Glob } from "bun";

const root = resolve(import.meta.dir, "../..");
const IMPORT =
  /(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function importsOf(house: string): { file: string; target: string }[] {
  const found: { file: string; target: string }[] = [];
  for (const file of new Glob(`${house}/**/*.{ts,tsx}`).scanSync(root)) {
    const text = readFileSync(join(root, file), "utf8");
    for (const match of text.matchAll(IMPORT)) {
      const spec = match[1] ?? match[2] ?? "";
      if (!spec.startsWith(".")) continue;
      found.push({ file, target: relative(root, resolve(root, dirname(file), spec)) });
    }
  }
  return found;
}

function crossing(house: string, forbidden: string[]): string[] {
  return importsOf(house)
    .filter(({ target }) => forbidden.some((f) => target === f || target.startsWith(`${f}/`)))
    .map(({ file, target }) => `${file} → ${target}`);
}

test("the agent and the runtime import nothing from the server or its views", () => {
  expect(importsOf("agent").length).toBeGreaterThan(20);
  expect(crossing("agent", ["src", "views", "runtime"])).toEqual([]);
  expect(crossing("runtime", ["src", "views", "agent"])).toEqual([]);
});

test("the neutral module imports neither side", () => {
  expect(importsOf("common").length).toBeGreaterThan(0);
  expect(crossing("common", ["src", "views", "agent", "runtime"])).toEqual([]);
});

test("the server uses the agent only through its contract (and the all-in-one starter)", () => {
  const allowed = (target: string) =>
    target.startsWith("agent/api/") || target === "agent/server.ts" || target === "agent/config.ts";
  const outside = [...importsOf("src"), ...importsOf("views")]
    .filter(({ target }) => target.startsWith("agent/") && !allowed(target))
    .map(({ file, target }) => `${file} → ${target}`);
  expect(outside).toEqual([]);
});
