// `keys rotate` re-seals TOTP secrets under the newest master key, on both drivers: the secret still
// opens (same code), and a row under an unknown key is reported and left as it is.
import { expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { parseKeyring } from "../../common/keyring.ts";
import { totpBinding } from "../../src/auth/totp.ts";
import { asSystem } from "../../src/db/rls.ts";
import { totpFactors, users } from "../../src/db/schema.ts";
import { open, seal } from "../../src/secrets/aead.ts";
import { loadMasterKeyring } from "../../src/secrets/master_keys.ts";
import { rotateTotpSecrets } from "../../src/secrets/rotate_totp.ts";
import { describeEachDriver } from "../helpers/db.ts";

const OLD = `old:${Buffer.alloc(32, 21).toString("base64")}`;
const NEW = `new:${Buffer.alloc(32, 22).toString("base64")}`;
const LOST = `lost:${Buffer.alloc(32, 23).toString("base64")}`;

describeEachDriver("TOTP secret rotation", (db) => {
  test("re-sealed under the newest key; unknown keys reported", async () => {
    const ring = (spec: string) =>
      loadMasterKeyring({ masterKeys: parseKeyring("K", spec, "aes256"), dataDir: "/x" });
    const oldRing = await ring(OLD);
    const lostRing = await ring(LOST);
    const both = await ring(`${NEW},${OLD}`);
    const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    const ids: string[] = [];
    for (const [email, keyring] of [
      ["a@example.test", oldRing],
      ["b@example.test", lostRing],
    ] as const) {
      const [user] = await asSystem(db().db, (tx) =>
        tx.insert(users).values({ email, passwordHash: "x" }).returning({ id: users.id }),
      );
      const userId = user?.id ?? "";
      ids.push(userId);
      const sealed = await seal(keyring.newest, secret, totpBinding(userId));
      await asSystem(db().db, (tx) => tx.insert(totpFactors).values({ userId, ...sealed }));
    }
    const report = await rotateTotpSecrets(db().db, both);
    expect(report).toEqual({ rotated: 1, unknownKeyIds: ["lost"], failed: 0 });
    const [row] = await asSystem(db().db, (tx) =>
      tx
        .select()
        .from(totpFactors)
        .where(eq(totpFactors.userId, ids[0] ?? "")),
    );
    expect(row?.keyId).toBe("new");
    const opened = await open(
      both.newest,
      {
        keyId: row?.keyId ?? "",
        nonce: new Uint8Array(row?.nonce ?? []),
        ciphertext: new Uint8Array(row?.ciphertext ?? []),
      },
      totpBinding(ids[0] ?? ""),
    );
    expect(opened).toBe(secret);
    expect(await rotateTotpSecrets(db().db, both)).toEqual({
      rotated: 0,
      unknownKeyIds: ["lost"],
      failed: 0,
    });
  });
});
