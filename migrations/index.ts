// Migrations embedded in the binary, in order. `test/db/migrations.test.ts` checks this list against
// drizzle-kit's journal, so a generated migration cannot be forgotten here.
import m0000 from "./0000_init.sql" with { type: "text" };
import m0001 from "./0001_rls_and_roles.sql" with { type: "text" };
import m0002 from "./0002_volumes.sql" with { type: "text" };
import m0003 from "./0003_gateway.sql" with { type: "text" };
import m0004 from "./0004_accounts.sql" with { type: "text" };
import m0005 from "./0005_security.sql" with { type: "text" };
import m0006 from "./0006_https.sql" with { type: "text" };
import m0007 from "./0007_tools.sql" with { type: "text" };
import m0009 from "./0009_perf.sql" with { type: "text" };
import m0010 from "./0010_channels.sql" with { type: "text" };
import m0011 from "./0011_progress.sql" with { type: "text" };
import m0012 from "./0012_apiperf.sql" with { type: "text" };
import m0013 from "./0013_pglitecache.sql" with { type: "text" };

export type EmbeddedMigration = { name: string; sql: string };

export const MIGRATIONS: EmbeddedMigration[] = [
  { name: "0000_init", sql: m0000 },
  { name: "0001_rls_and_roles", sql: m0001 },
  { name: "0002_volumes", sql: m0002 },
  { name: "0003_gateway", sql: m0003 },
  { name: "0004_accounts", sql: m0004 },
  { name: "0005_security", sql: m0005 },
  { name: "0006_https", sql: m0006 },
  { name: "0007_tools", sql: m0007 },
  { name: "0009_perf", sql: m0009 },
  { name: "0010_channels", sql: m0010 },
  { name: "0011_progress", sql: m0011 },
  { name: "0012_apiperf", sql: m0012 },
  { name: "0013_pglitecache", sql: m0013 },
];
