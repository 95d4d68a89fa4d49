// A small JSON client for the account tests: signup, login, authenticated calls.
import { expect } from "bun:test";
import { json, type TestServer } from "./server.ts";

export const PASSWORD = "correct horse battery staple";
export const NEW_PASSWORD = "another long passphrase 2026";

export type Account = { email: string; userId: string; access: string; refresh: string };

export function apiClient(server: () => TestServer) {
  let n = 0;
  const call = (method: string, path: string, body?: unknown, token?: string) =>
    fetch(`${server().url}/api/v1${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  return {
    call,
    email: () => `acct${++n}-${crypto.randomUUID().slice(0, 8)}@example.test`,
    async signup(email?: string): Promise<Account> {
      const address = email ?? `acct${++n}-${crypto.randomUUID().slice(0, 8)}@example.test`;
      const response = await call("POST", "/auth/signup", { email: address, password: PASSWORD });
      expect(response.status).toBe(201);
      const body = await json(response);
      return { email: address, userId: body.user.id, access: body.access_token, refresh: body.refresh_token };
    },
    login: (email: string, password: string, totp_code?: string) =>
      call("POST", "/auth/login", { email, password, ...(totp_code ? { totp_code } : {}) }),
  };
}

/** Every text column of every table, to prove a secret was never stored in plaintext. */
export async function databaseContains(server: TestServer, needle: string): Promise<string[]> {
  const { sql } = await import("drizzle-orm");
  const { rowsOf } = await import("../../src/db/client.ts");
  const db = server.ctx.database.db;
  const tables = rowsOf<{ table_name: string }>(
    await db.execute(sql`select table_name from information_schema.tables where table_schema = 'public'`),
  );
  const found: string[] = [];
  for (const { table_name } of tables) {
    const rows = rowsOf<Record<string, unknown>>(await db.execute(sql.raw(`select * from "${table_name}"`)));
    for (const row of rows) {
      const text = JSON.stringify(row, (_k, v) =>
        v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v,
      );
      if (text.includes(needle)) found.push(table_name);
    }
  }
  return found;
}
