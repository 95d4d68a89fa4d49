import { describe, expect, test } from "bun:test";
import { chmodSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Crypto as PeculiarCrypto } from "@peculiar/webcrypto";
import { parseKeyring } from "../../common/keyring.ts";
import { aadFor, DecryptionError, open, seal } from "../../src/secrets/aead.ts";
import { loadMasterKeyring, MasterKeyError } from "../../src/secrets/master_keys.ts";
import { tempDir } from "../helpers/process.ts";

const peculiar = new PeculiarCrypto().subtle as unknown as SubtleCrypto;
const entries = parseKeyring(
  "K",
  `k2:${Buffer.alloc(32, 5).toString("base64")},k1:${Buffer.alloc(32, 6).toString("base64")}`,
  "aes256",
);
const ring = await loadMasterKeyring({ masterKeys: entries, dataDir: "/nonexistent" });
const binding = {
  userId: "11111111-1111-4111-8111-111111111111",
  provider: "anthropic",
  rowId: "22222222-2222-4222-8222-222222222222",
};
const KEY = "sk-ant-api03-THIS-IS-A-TEST-KEY-0123456789";

describe("AES-256-GCM envelope", () => {
  test("round trip, a fresh nonce each time, key id stored", async () => {
    const a = await seal(ring.newest, KEY, binding);
    const b = await seal(ring.newest, KEY, binding);
    expect(a.keyId).toBe("k2");
    expect(a.nonce.byteLength).toBe(12);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
    expect(Buffer.from(a.ciphertext).equals(Buffer.from(b.ciphertext))).toBe(false);
    expect(Buffer.from(a.ciphertext).toString("latin1")).not.toContain("THIS-IS-A-TEST");
    expect(await open(ring.newest, a, binding)).toBe(KEY);
  });

  test("any flipped byte of nonce, ciphertext or tag is rejected", async () => {
    const sealed = await seal(ring.newest, KEY, binding);
    for (const field of ["nonce", "ciphertext"] as const) {
      for (let i = 0; i < sealed[field].byteLength; i++) {
        const copy = { ...sealed, [field]: sealed[field].slice() };
        copy[field][i] = (copy[field][i] ?? 0) ^ 0x01;
        await expect(open(ring.newest, copy, binding)).rejects.toBeInstanceOf(DecryptionError);
      }
    }
  });

  test("the AAD binds user, provider and row: a copied ciphertext does not decrypt", async () => {
    const sealed = await seal(ring.newest, KEY, binding);
    for (const other of [
      { ...binding, userId: "33333333-3333-4333-8333-333333333333" },
      { ...binding, provider: "openai" },
      { ...binding, rowId: "44444444-4444-4444-8444-444444444444" },
    ]) {
      await expect(open(ring.newest, sealed, other)).rejects.toBeInstanceOf(DecryptionError);
    }
    expect(new TextDecoder().decode(aadFor(binding))).toContain(binding.userId);
  });

  test("the wrong master key is rejected, and errors never carry the key", async () => {
    const sealed = await seal(ring.newest, KEY, binding);
    const old = ring.byId("k1");
    if (!old) throw new Error("k1 missing");
    const error = await open(old, sealed, binding).catch((e: Error) => e);
    expect(error).toBeInstanceOf(DecryptionError);
    expect(String((error as Error).message)).not.toContain(KEY);
  });

  test("Bun's WebCrypto and @peculiar/webcrypto decrypt each other's output", async () => {
    const peculiarRing = await loadMasterKeyring({ masterKeys: entries, dataDir: "/nonexistent" }, peculiar);
    const byBun = await seal(ring.newest, KEY, binding);
    expect(await open(peculiarRing.newest, byBun, binding, peculiar)).toBe(KEY);
    const byPeculiar = await seal(peculiarRing.newest, KEY, binding, peculiar);
    expect(await open(ring.newest, byPeculiar, binding)).toBe(KEY);
    const tampered = { ...byPeculiar, ciphertext: byPeculiar.ciphertext.slice() };
    tampered.ciphertext[0] = (tampered.ciphertext[0] ?? 0) ^ 0x80;
    await expect(open(ring.newest, tampered, binding)).rejects.toBeInstanceOf(DecryptionError);
  });
});

describe("master key file", () => {
  test("generated with mode 0600 on first start and reused afterwards", async () => {
    const dir = join(tempDir("cf-mk"), "data");
    const first = await loadMasterKeyring({ masterKeys: [], dataDir: dir });
    expect(statSync(join(dir, "master.key")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const second = await loadMasterKeyring({ masterKeys: [], dataDir: dir });
    expect(second.newest.id).toBe(first.newest.id);
    const sealed = await seal(first.newest, KEY, binding);
    expect(await open(second.newest, sealed, binding)).toBe(KEY);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a key file readable by others, or with bad content, is refused", async () => {
    const dir = tempDir("cf-mk");
    writeFileSync(join(dir, "master.key"), `k1:${Buffer.alloc(32, 1).toString("base64")}\n`, { mode: 0o644 });
    chmodSync(join(dir, "master.key"), 0o644);
    await expect(loadMasterKeyring({ masterKeys: [], dataDir: dir })).rejects.toBeInstanceOf(MasterKeyError);
    writeFileSync(join(dir, "master.key"), "garbage\n", { mode: 0o600 });
    chmodSync(join(dir, "master.key"), 0o600);
    await expect(loadMasterKeyring({ masterKeys: [], dataDir: dir })).rejects.toThrow(
      /not a valid master key file/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
