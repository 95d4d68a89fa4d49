// `clawfleet users reset-link|plan`, run as an operator would (bun src/main.ts …), on both drivers.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { peekAccountToken } from "../../src/auth/account_tokens.ts";
import { openDatabase } from "../../src/db/client.ts";
import { asSystem } from "../../src/db/rls.ts";
import { auditLog, users } from "../../src/db/schema.ts";
import { createPgDatabase, DRIVERS } from "../helpers/db.ts";
import { tempDir } from "../helpers/process.ts";

const root = join(import.meta.dir, "../..");

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

test("users --help", () => {
  const help = cli(["users", "--help"], {});
  expect(help.code).toBe(0);
  expect(help.out).toContain("clawfleet users reset-link EMAIL");
  expect(cli(["--help"], {}).out).toContain("users");
});

for (const driver of DRIVERS) {
  describe(`clawfleet users [${driver}]`, () => {
    const drops: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const drop of drops) await drop();
    });
    async function target(): Promise<Record<string, string>> {
      const base = { CLAWFLEET_PUBLIC_URL: "https://fleet.example.test" };
      if (driver === "pglite") return { ...base, CLAWFLEET_DATA_DIR: join(tempDir("cf-cli"), "data") };
      const db = await createPgDatabase();
      drops.push(db.drop);
      return { ...base, DATABASE_URL: db.url, CLAWFLEET_DATA_DIR: tempDir("cf-cli") };
    }
    const open = (env: Record<string, string>) =>
      openDatabase({
        databaseUrl: env.DATABASE_URL ?? null,
        dataDir: env.DATABASE_URL ? null : (env.CLAWFLEET_DATA_DIR ?? null),
      });

    test("reset-link prints a single-use link under the public URL; plan changes the plan", async () => {
      const env = await target();
      expect(
        cli(["admin", "create", "--email", "ops@example.test"], env, "a long admin password\n").code,
      ).toBe(0);
      const link = cli(["users", "reset-link", "OPS@example.test"], env);
      expect(link.code).toBe(0);
      const match = /^https:\/\/fleet\.example\.test\/reset-password\?token=([A-Za-z0-9_-]{43})\n$/.exec(
        link.out,
      );
      expect(match).not.toBeNull();

      const plan = cli(["users", "plan", "ops@example.test", "pro"], env);
      expect(plan).toMatchObject({ code: 0, out: "ops@example.test is now on plan pro\n" });
      const unknownPlan = cli(["users", "plan", "ops@example.test", "gold"], env);
      expect(unknownPlan.code).toBe(64);
      expect(unknownPlan.err).toContain('There is no plan "gold"');
      expect(cli(["users", "reset-link", "nobody@example.test"], env)).toMatchObject({ code: 64 });
      expect(cli(["users", "plan"], env).code).toBe(64);
      expect(cli(["users", "frobnicate"], env).code).toBe(64);

      const database = await open(env);
      try {
        const pending = await peekAccountToken(database.db, "password_reset", match?.[1] ?? "");
        expect(pending?.email).toBe("ops@example.test");
        const minutes = ((pending?.expiresAt.getTime() ?? 0) - Date.now()) / 60_000;
        expect(minutes).toBeGreaterThan(29);
        expect(minutes).toBeLessThanOrEqual(30);
        const [row] = await asSystem(database.db, (tx) =>
          tx.select().from(users).where(eq(users.email, "ops@example.test")),
        );
        expect(row?.planId).toBe("pro");
        const actions = await asSystem(database.db, (tx) =>
          tx.select({ action: auditLog.action }).from(auditLog),
        );
        expect(actions.map((a) => a.action)).toEqual(
          expect.arrayContaining(["admin.reset_link_issued", "admin.plan_changed"]),
        );
      } finally {
        await database.close();
      }
    });
  });
}
