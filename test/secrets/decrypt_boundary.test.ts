import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dir, "../..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory()
      ? sources(path)
      : path.endsWith(".ts") || path.endsWith(".tsx")
        ? [path]
        : [];
  });
}

test("only spawn_secrets.ts, volume_keys.ts, totp.ts and node_secrets.ts decrypt (rotation re-seals inside aead.ts)", () => {
  const importers = sources(join(root, "src"))
    .filter((file) =>
      /import\s*{[^}]*\bopen\b[^}]*}\s*from\s*"[^"]*secrets\/aead(\.ts)?"|from\s*"\.\/aead\.ts"/.test(
        readFileSync(file, "utf8"),
      ),
    )
    .filter((file) =>
      /\bopen\b/.test(
        readFileSync(file, "utf8").match(/import\s*{[^}]*}\s*from\s*"[^"]*aead(\.ts)?"/)?.[0] ?? "",
      ),
    )
    .map((file) => relative(root, file));
  // node_secrets.ts opens only node signing secrets: its AAD binding names no user and no provider;
  // totp.ts opens only the user's TOTP secret, to check a code.
  expect(importers.sort()).toEqual([
    "src/auth/totp.ts",
    "src/fleet/node_secrets.ts",
    "src/secrets/spawn_secrets.ts",
    "src/secrets/volume_keys.ts",
  ]);
  expect(readFileSync(join(root, "src/fleet/node_secrets.ts"), "utf8")).toContain(
    'userId: "node", provider: "node-secret"',
  );
  expect(readFileSync(join(root, "src/secrets/spawn_secrets.ts"), "utf8")).toContain(
    "export async function decryptSecretsForSpawn",
  );
});
