// TOTP two-factor (RFC 6238: SHA-1, 6 digits, 30 s, what every authenticator app speaks). The secret is
// sealed under the master key like a provider key. A code is accepted for the step before, the current
// and the next one (clock drift), and only for a step later than the last accepted one, so a code seen
// over a shoulder cannot be replayed. Ten recovery codes, stored as SHA-256 (80 random bits each, no
// slow hash needed), each usable once. Failures are throttled like sign-ins.
import { decodeBase32IgnorePadding, encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { createTOTPKeyURI, generateHOTP } from "@oslojs/otp";
import { and, eq, isNull } from "drizzle-orm";
import { renderSVG } from "uqr";
import { constantTimeEqual, sha256Hex } from "../../common/crypto.ts";
import { audit } from "../audit.ts";
import type { AppContext } from "../context.ts";
import { asSystem, asUser } from "../db/rls.ts";
import { totpFactors, totpRecoveryCodes } from "../db/schema.ts";
import { UserError } from "../errors.ts";
import { open, seal } from "../secrets/aead.ts";
import type { Caller } from "./account.ts";
import { ensureAttemptAllowed, recordAttempt } from "./attempt_throttle.ts";
import { AuthError, passwordWorkGuard } from "./auth_error.ts";
import { verifyPassword } from "./passwords.ts";
import { getUser } from "./users.ts";

const PERIOD_S = 30;
const DIGITS = 6;
const RECOVERY_CODES = 10;
const ISSUER = "clawfleet";

/** What a sealed TOTP secret is bound to (its AAD): the user it belongs to. */
export const totpBinding = (userId: string) => ({ userId, provider: "totp", rowId: userId });
const stepNow = () => Math.floor(Date.now() / 1000 / PERIOD_S);

export type TotpSetup = { secret: string; otpauth_uri: string; qr_svg: string };

async function factorOf(ctx: AppContext, userId: string) {
  const [row] = await asUser(ctx.database.db, userId, (tx) =>
    tx.select().from(totpFactors).where(eq(totpFactors.userId, userId)),
  );
  return row ?? null;
}

export async function totpEnabled(ctx: AppContext, userId: string): Promise<boolean> {
  return Boolean((await factorOf(ctx, userId))?.enabledAt);
}

/** A new secret (replacing an unconfirmed one); two-factor is on only once `enableTotp` saw a code. */
export async function setupTotp(ctx: AppContext, caller: Caller): Promise<TotpSetup> {
  const user = await getUser(ctx.database.db, caller.userId);
  if (!user) throw new AuthError(401, "unauthenticated", "Sign in to continue.");
  if ((await factorOf(ctx, caller.userId))?.enabledAt) {
    throw new UserError(409, "totp_enabled", "Two-factor sign-in is already on. Disable it first.");
  }
  const key = crypto.getRandomValues(new Uint8Array(20));
  const secret = encodeBase32UpperCaseNoPadding(key);
  const sealed = await seal(ctx.keyring.newest, secret, totpBinding(caller.userId));
  await asUser(ctx.database.db, caller.userId, (tx) =>
    tx
      .insert(totpFactors)
      .values({ userId: caller.userId, ...sealed, enabledAt: null, lastStep: null })
      .onConflictDoUpdate({
        target: totpFactors.userId,
        set: { ...sealed, enabledAt: null, lastStep: null, createdAt: new Date() },
      }),
  );
  return presentSetup(user.email, key);
}

function presentSetup(email: string, key: Uint8Array): TotpSetup {
  const uri = createTOTPKeyURI(ISSUER, email, key, PERIOD_S, DIGITS);
  return {
    secret: encodeBase32UpperCaseNoPadding(key),
    otpauth_uri: uri,
    qr_svg: renderSVG(uri, { border: 2 }),
  };
}

/** The setup not yet confirmed (to show again after a mistyped code), or null. */
export async function pendingTotpSetup(ctx: AppContext, userId: string): Promise<TotpSetup | null> {
  const factor = await factorOf(ctx, userId);
  const user = factor && !factor.enabledAt ? await getUser(ctx.database.db, userId) : null;
  return factor && user ? presentSetup(user.email, await secretKey(ctx, factor)) : null;
}

async function secretKey(ctx: AppContext, factor: typeof totpFactors.$inferSelect): Promise<Uint8Array> {
  const master = ctx.keyring.byId(factor.keyId);
  if (!master) throw new Error(`master key ${factor.keyId} is not in the keyring`);
  const sealed = {
    keyId: factor.keyId,
    nonce: new Uint8Array(factor.nonce),
    ciphertext: new Uint8Array(factor.ciphertext),
  };
  const secret = await open(master, sealed, totpBinding(factor.userId));
  return decodeBase32IgnorePadding(secret);
}

/** The step the code belongs to (within one step of now, after the last accepted), or null. */
function matchingStep(key: Uint8Array, code: string, lastStep: number | null): number | null {
  const now = stepNow();
  for (const step of [now - 1, now, now + 1]) {
    if (lastStep !== null && step <= lastStep) continue;
    if (constantTimeEqual(code, generateHOTP(key, BigInt(step), DIGITS))) return step;
  }
  return null;
}

/** Accepts a code once: the step is recorded only if no other request recorded it (or a later one). */
async function acceptCode(ctx: AppContext, factor: typeof totpFactors.$inferSelect, code: string) {
  const step = matchingStep(await secretKey(ctx, factor), code, factor.lastStep);
  if (step === null) return false;
  const updated = await asSystem(ctx.database.db, (tx) =>
    tx
      .update(totpFactors)
      .set({ lastStep: step })
      .where(
        and(
          eq(totpFactors.userId, factor.userId),
          factor.lastStep === null ? isNull(totpFactors.lastStep) : eq(totpFactors.lastStep, factor.lastStep),
        ),
      )
      .returning({ userId: totpFactors.userId }),
  );
  return updated.length === 1;
}

async function useRecoveryCode(ctx: AppContext, userId: string, code: string): Promise<boolean> {
  const normalised = code.replaceAll("-", "").trim().toLowerCase();
  if (!/^[a-z2-7]{16}$/.test(normalised)) return false;
  const used = await asSystem(ctx.database.db, (tx) =>
    tx
      .update(totpRecoveryCodes)
      .set({ usedAt: new Date() })
      .where(
        and(
          eq(totpRecoveryCodes.userId, userId),
          eq(totpRecoveryCodes.codeHash, sha256Hex(normalised)),
          isNull(totpRecoveryCodes.usedAt),
        ),
      )
      .returning({ id: totpRecoveryCodes.id }),
  );
  return used.length === 1;
}

/**
 * The second factor of a sign-in (or of disabling it): a current code or an unused recovery code.
 * Throttled per user; a refusal is the same whether the code was wrong, replayed or malformed.
 */
export async function verifySecondFactor(
  ctx: AppContext,
  userId: string,
  code: string | undefined,
  ip: string,
): Promise<void> {
  const factor = await factorOf(ctx, userId);
  if (!factor?.enabledAt) return;
  if (!code) {
    throw new AuthError(401, "totp_required", "Enter the code from your authenticator app.");
  }
  const db = ctx.database.db;
  await ensureAttemptAllowed(db, "totp", userId, ip);
  const trimmed = code.trim();
  const ok = /^\d{6}$/.test(trimmed)
    ? await acceptCode(ctx, factor, trimmed)
    : await useRecoveryCode(ctx, userId, trimmed);
  await recordAttempt(db, "totp", userId, ip, ok);
  if (!ok) throw new AuthError(401, "invalid_totp_code", "That code is not valid. Try the next one.");
}

function newRecoveryCode(): string {
  const raw = encodeBase32UpperCaseNoPadding(crypto.getRandomValues(new Uint8Array(10))).toLowerCase();
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8, 12)}-${raw.slice(12, 16)}`;
}

/** Turns two-factor on after a valid code; returns the ten recovery codes (shown once). */
export async function enableTotp(ctx: AppContext, caller: Caller, code: string): Promise<string[]> {
  const factor = await factorOf(ctx, caller.userId);
  if (!factor) throw new UserError(409, "totp_not_set_up", "Start the two-factor setup first.");
  if (factor.enabledAt) throw new UserError(409, "totp_enabled", "Two-factor sign-in is already on.");
  const db = ctx.database.db;
  await ensureAttemptAllowed(db, "totp", caller.userId, caller.ip);
  const ok = /^\d{6}$/.test(code.trim()) && (await acceptCode(ctx, factor, code.trim()));
  await recordAttempt(db, "totp", caller.userId, caller.ip, ok);
  if (!ok) throw new UserError(400, "invalid_totp_code", "That code is not valid. Try the next one.");
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
  await asUser(db, caller.userId, async (tx) => {
    await tx.delete(totpRecoveryCodes).where(eq(totpRecoveryCodes.userId, caller.userId));
    await tx
      .insert(totpRecoveryCodes)
      .values(codes.map((c) => ({ userId: caller.userId, codeHash: sha256Hex(c.replaceAll("-", "")) })));
    await tx.update(totpFactors).set({ enabledAt: new Date() }).where(eq(totpFactors.userId, caller.userId));
  });
  await audit(db, { action: "auth.totp_enabled", userId: caller.userId, ip: caller.ip });
  return codes;
}

/** Needs the password and a code (or a recovery code). */
export async function disableTotp(
  ctx: AppContext,
  caller: Caller,
  input: { password: string; code: string },
): Promise<void> {
  const db = ctx.database.db;
  const user = await getUser(db, caller.userId);
  if (!user) throw new AuthError(401, "unauthenticated", "Sign in to continue.");
  if (!(await totpEnabled(ctx, caller.userId))) {
    throw new UserError(409, "totp_not_enabled", "Two-factor sign-in is not on.");
  }
  const ok = await passwordWorkGuard(() => verifyPassword(input.password, user.passwordHash));
  if (!ok) throw new AuthError(403, "wrong_password", "The password is incorrect.");
  await verifySecondFactor(ctx, caller.userId, input.code, caller.ip);
  await asUser(db, caller.userId, async (tx) => {
    await tx.delete(totpRecoveryCodes).where(eq(totpRecoveryCodes.userId, caller.userId));
    await tx.delete(totpFactors).where(eq(totpFactors.userId, caller.userId));
  });
  await audit(db, { action: "auth.totp_disabled", userId: caller.userId, ip: caller.ip });
}
