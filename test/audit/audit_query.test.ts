// The admin audit log's reading side on both drivers: filters by person (either side, % taken
// literally), action and UTC days, keyset pages that do not shift when new events arrive, and the
// sentences the console shows for them.
import { expect, test } from "bun:test";
import { audit } from "../../src/audit.ts";
import { auditActions, auditFilterFrom, listAuditPage } from "../../src/audit_query.ts";
import { users } from "../../src/db/schema.ts";
import { auditSentence } from "../../views/components/audit_sentence.ts";
import { describeEachDriver } from "../helpers/db.ts";

describeEachDriver("audit log query", (database) => {
  test("filters, pages and sentences", async () => {
    const db = database().db;
    const [ana, admin] = await db
      .insert(users)
      .values([
        { email: "ana@example.test", passwordHash: "x" },
        { email: "root%_@example.test", passwordHash: "x", isAdmin: true },
      ])
      .returning();
    if (!ana || !admin) throw new Error("no users");
    await audit(db, { action: "session.freeze", userId: ana.id, ip: "10.0.0.1" });
    await audit(db, {
      action: "admin.plan_changed",
      userId: ana.id,
      actorId: admin.id,
      detail: { plan: "pro" },
    });
    await audit(db, { action: "admin.node_drain", actorId: admin.id, target: "n1" });
    await audit(db, { action: "credential.added", userId: ana.id, detail: { provider: "anthropic" } });
    expect(
      auditSentence({
        action: "channel.connect",
        userId: ana.id,
        actorId: ana.id,
        userEmail: "ana@example.test",
        actorEmail: "ana@example.test",
        target: "telegram",
        detail: null,
      }),
    ).toBe("ana@example.test connected their Telegram channel");

    const all = await listAuditPage(db, {});
    expect(all.entries.map((e) => auditSentence(e))).toEqual([
      "ana@example.test added an Anthropic key",
      "root%_@example.test drained a node (no new containers go there)",
      "root%_@example.test moved ana@example.test to the pro plan",
      "ana@example.test froze their container",
    ]);
    expect(all.olderThan).toBeNull();

    // Either side of an event matches; % and _ are literal, not wildcards.
    expect((await listAuditPage(db, { user: "root%_" })).entries).toHaveLength(2);
    expect((await listAuditPage(db, { user: "%" })).entries).toHaveLength(2);
    expect((await listAuditPage(db, { user: "ANA@" })).entries).toHaveLength(3);
    expect((await listAuditPage(db, { action: "session.freeze" })).entries).toHaveLength(1);
    expect(await auditActions(db)).toEqual([
      "admin.node_drain",
      "admin.plan_changed",
      "credential.added",
      "session.freeze",
    ]);

    // Days are inclusive and in UTC.
    const today = new Date().toISOString().slice(0, 10);
    expect((await listAuditPage(db, { from: today, to: today })).entries).toHaveLength(4);
    expect((await listAuditPage(db, { to: "2000-01-01" })).entries).toHaveLength(0);

    // Pages of 3: a new event does not shift the second page.
    const first = await listAuditPage(db, {}, 3);
    expect(first.entries).toHaveLength(3);
    await audit(db, { action: "session.restore", userId: ana.id });
    const second = await listAuditPage(db, { before: first.olderThan ?? 0 }, 3);
    expect(second.entries.map((e) => e.action)).toEqual(["session.freeze"]);
    expect(second.olderThan).toBeNull();
  });

  test("a query string gives only well-formed filters", () => {
    expect(
      auditFilterFrom({ user: "  ana ", action: "x", from: "2026-02-30x", to: "2026-01-31", before: "12" }),
    ).toEqual({
      user: "ana",
      action: "x",
      from: undefined,
      to: "2026-01-31",
      before: 12,
    });
    expect(auditFilterFrom({ before: "-1", from: "yesterday" })).toMatchObject({
      before: undefined,
      from: undefined,
    });
  });
});
