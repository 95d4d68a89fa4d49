// The server binary's commands, run as a user would (bun src/main.ts …), on both database drivers.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseKeyring } from "../../common/keyring.ts";
import { openDatabase } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { credentials, users } from "../../src/db/schema.ts";
import { addCredential } from "../../src/secrets/credentials.ts";
import { loadMasterKeyring } from "../../src/secrets/master_keys.ts";
import { decryptSecretsForSpawn } from "../../src/secrets/spawn_secrets.ts";
import { createPgDatabase, DRIVERS } from "../helpers/db.ts";
import { tempDir } from "../helpers/process.ts";

const root = join(import.meta.dir, "../..");
const OLD = `old:${Buffer.alloc(32, 11).toString("base64")}`;
const NEW = `new:${Buffer.alloc(32, 12).toString("base64")}`;

function cli(args: string[], env: Record<string, string>, stdin?: string) {
  const proc = Bun.spawnSync([process.execPath, "src/main.ts", ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CLAWFLEET_LOG_LEVEL: "error", ...env },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() };
}

test("--help works for every command", () => {
  for (const command of ["serve", "migrate", "admin", "nodes", "keys", "backup", "restore"]) {
    const result = cli([command, "--help"], {});
    expect(`${command}: ${result.code}`).toBe(`${command}: 0`);
    expect(result.out).toContain("Usage: clawfleet");
  }
  expect(cli(["--help"], {}).out).toContain("keys rotate");
  const unknown = cli(["frobnicate"], {});
  expect(unknown.code).toBe(64);
  expect(unknown.err.trim()).toBe('clawfleet: unknown command "frobnicate" (see clawfleet --help)');
});

for (const driver of DRIVERS) {
  describe(`clawfleet commands [${driver}]`, () => {
    const drops: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const drop of drops) await drop();
    });
    async function target(): Promise<Record<string, string>> {
      if (driver === "pglite") return { CLAWFLEET_DATA_DIR: join(tempDir("cf-cli"), "data") };
      const db = await createPgDatabase();
      drops.push(db.drop);
      return { DATABASE_URL: db.url, CLAWFLEET_DATA_DIR: tempDir("cf-cli") };
    }

    test("admin create, with clear errors for a duplicate or a weak password", async () => {
      const env = await target();
      expect(
        cli(["admin", "create", "--email", "Ops@Example.test"], env, "a long admin password\n"),
      ).toMatchObject({
        code: 0,
        out: "administrator ops@example.test created\n",
      });
      const again = cli(["admin", "create", "--email", "ops@example.test"], env, "a long admin password\n");
      expect(again.code).toBe(64);
      expect(again.err).toContain("already exists");
      const weak = cli(["admin", "create", "--email", "x@example.test"], env, "short\n");
      expect(weak.code).toBe(64);
      expect(cli(["admin", "create"], env, "a long admin password\n").code).toBe(64);
    });

    test("nodes add, list, drain, activate, remove", async () => {
      const env = await target();
      const fp = `sha256:${"ab:".repeat(31)}ab`;
      const added = cli(
        ["nodes", "add", "--name", "n1", "--url", "https://10.0.0.5:7443", "--fingerprint", fp],
        env,
      );
      expect(added.code).toBe(0);
      // A secret for this node alone, shown once, with the node id it is bound to.
      expect(added.out).toMatch(/\nCLAWFLEET_NODE_ID=n1\nCLAWFLEET_NODE_SECRETS=node:[A-Za-z0-9_-]{43}\n$/);
      expect(cli(["nodes", "list"], env).out).toMatch(
        /^n1\tactive\thttps:\/\/10\.0\.0\.5:7443\tnever seen\n$/,
      );
      expect(cli(["nodes", "drain", "n1"], env).out).toBe("node n1 draining\n");
      expect(cli(["nodes", "list"], env).out).toContain("draining");
      expect(cli(["nodes", "activate", "n1"], env).code).toBe(0);
      const bad = cli(["nodes", "add", "--name", "n2", "--url", "https://x:1", "--fingerprint", "abc"], env);
      expect(bad.code).toBe(64);
      expect(bad.err).toContain("fingerprint");
      expect(cli(["nodes", "remove", "n1"], env).out).toBe("node n1 removed\n");
      expect(cli(["nodes", "list"], env).out).toBe("no nodes\n");
      expect(cli(["nodes", "remove", "n1"], env).code).toBe(64);
    });

    test("keys rotate re-encrypts every stored key under the newest master key", async () => {
      const env = await target();
      expect(cli(["migrate"], env).code).toBe(0);
      const database = await openDatabase({
        databaseUrl: env.DATABASE_URL ?? null,
        dataDir: env.DATABASE_URL ? null : (env.CLAWFLEET_DATA_DIR ?? null),
      });
      const oldRing = await loadMasterKeyring({
        masterKeys: parseKeyring("K", OLD, "aes256"),
        dataDir: "/x",
      });
      const [user] = await asSystem(database.db, (tx) =>
        tx.insert(users).values({ email: "k@example.test", passwordHash: "x" }).returning(),
      );
      await addCredential(
        database.db,
        oldRing,
        user?.id ?? "",
        "openai",
        "sk-proj-rotate-me-0123456789abcdefgh",
      );
      await database.close();
      const rotated = cli(["keys", "rotate"], { ...env, CLAWFLEET_MASTER_KEYS: `${NEW},${OLD}` });
      expect(rotated.err).toBe("");
      expect(rotated.out).toContain('rotated 1 key(s) to master key "new"');
      const reopened = await openDatabase({
        databaseUrl: env.DATABASE_URL ?? null,
        dataDir: env.DATABASE_URL ? null : (env.CLAWFLEET_DATA_DIR ?? null),
      });
      const rows = await asSystem(reopened.db, (tx) =>
        tx.select({ keyId: credentials.keyId }).from(credentials),
      );
      expect(rows).toEqual([{ keyId: "new" }]);
      const newOnly = await loadMasterKeyring({
        masterKeys: parseKeyring("K", NEW, "aes256"),
        dataDir: "/x",
      });
      expect((await decryptSecretsForSpawn(reopened.db, newOnly, user?.id ?? "")).openai).toBe(
        "sk-proj-rotate-me-0123456789abcdefgh",
      );
      await reopened.close();
      expect(cli(["keys", "rotate"], { ...env, CLAWFLEET_MASTER_KEYS: NEW }).out).toContain(
        "rotated 0 key(s)",
      );
    });

    test("backup, then restore into an empty database", async () => {
      const source = await target();
      const keys = { CLAWFLEET_MASTER_KEYS: NEW };
      expect(
        cli(
          ["admin", "create", "--email", "b@example.test"],
          { ...source, ...keys },
          "a long admin password\n",
        ).code,
      ).toBe(0);
      const file = join(tempDir("cf-bk"), "backup.cfb");
      const backup = cli(["backup", "--out", file], { ...source, ...keys });
      expect(backup.code).toBe(0);
      expect(existsSync(file)).toBe(true);
      expect(cli(["backup", "--out", file], { ...source, ...keys }).err).toContain("already exists");
      const empty = await target();
      const restored = cli(["restore", "--in", file], { ...empty, ...keys });
      expect(restored.err).toBe("");
      expect(restored.out).toContain("users 1");
      const wrongKey = await target();
      const refused = cli(["restore", "--in", file], { ...wrongKey, CLAWFLEET_MASTER_KEYS: OLD });
      expect(refused.code).toBe(64);
      expect(refused.err).toContain('master key "new"');
      expect(
        cli(
          ["admin", "create", "--email", "b@example.test"],
          { ...empty, ...keys },
          "a long admin password\n",
        ).err,
      ).toContain("already exists");
    });
  });
}
