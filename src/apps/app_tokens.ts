// The two tokens of the apps handshake (like Coder's subdomain apps). A ticket is minted on the
// console origin for one app host, lives 60 seconds and is good once; the app host trades it for its
// own cookie, HttpOnly and host-only (no Domain attribute), so neither the console's cookies reach
// app pages nor one app's cookie another app. Both name the sign-in (refresh family) they came from:
// signing out, or that sign-in being revoked, ends app access on the next request.
import { decodeBase64urlIgnorePadding, encodeBase64urlNoPadding } from "@oslojs/encoding";
import { constantTimeEqual, hmacSha256 } from "../../common/crypto.ts";

export const TICKET_SECONDS = 60;
export const APP_COOKIE_SECONDS = 12 * 3600;
export const APP_COOKIE = "cf_app";

export type AppGrant = {
  kind: "ticket" | "app";
  userId: string;
  authSessionId: string;
  slug: string;
  exp: number;
  nonce: string;
};

const encoder = new TextEncoder();

async function mac(secret: Uint8Array<ArrayBuffer>, body: string): Promise<string> {
  return encodeBase64urlNoPadding(await hmacSha256(secret, `clawfleet-apps-v1|${body}`));
}

export async function signGrant(
  secret: Uint8Array<ArrayBuffer>,
  grant: Omit<AppGrant, "exp" | "nonce">,
  now = Date.now(),
): Promise<string> {
  const seconds = grant.kind === "ticket" ? TICKET_SECONDS : APP_COOKIE_SECONDS;
  const full: AppGrant = {
    ...grant,
    exp: Math.floor(now / 1000) + seconds,
    nonce: encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(16))),
  };
  const body = encodeBase64urlNoPadding(encoder.encode(JSON.stringify(full)));
  return `${body}.${await mac(secret, body)}`;
}

/** The grant, when the signature holds, it is of `kind`, for `slug`, and not expired. */
export async function verifyGrant(
  secret: Uint8Array<ArrayBuffer>,
  token: string,
  kind: AppGrant["kind"],
  slug: string,
  now = Date.now(),
): Promise<AppGrant | null> {
  if (token.length > 2048) return null;
  const [body, signature, extra] = token.split(".");
  if (!body || !signature || extra !== undefined) return null;
  if (!constantTimeEqual(signature, await mac(secret, body))) return null;
  let grant: AppGrant;
  try {
    grant = JSON.parse(new TextDecoder().decode(decodeBase64urlIgnorePadding(body))) as AppGrant;
  } catch {
    return null;
  }
  if (grant.kind !== kind || grant.slug !== slug || grant.exp < Math.floor(now / 1000)) return null;
  return grant;
}

/** Tickets already traded, until they expire: a leaked ticket URL cannot be used a second time. */
export class SpentTickets {
  private readonly spent = new Map<string, number>();
  /** True the first time a nonce is seen. */
  spend(nonce: string, exp: number): boolean {
    const now = Math.floor(Date.now() / 1000);
    for (const [n, e] of this.spent) if (e < now) this.spent.delete(n);
    if (this.spent.has(nonce)) return false;
    this.spent.set(nonce, exp);
    return true;
  }
}
