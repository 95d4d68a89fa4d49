// The per-container credential a template's key variables hold instead of a key. It is
// HMAC(node secret, session id, salt) with a fresh random salt at every spawn (kept in a container
// label, useless without the node secret), so a new container gets a new credential and the agent can
// recompute it after a restart without storing anything. It opens nothing by itself: the gateway also
// requires it to arrive on that container's own bridge, from that container's address.
import { encodeHexLowerCase } from "@oslojs/encoding";
import { hmacSha256 } from "../../common/crypto.ts";

export const CREDENTIAL_PREFIX = "cfgw_";
export const SALT_LABEL = "clawfleet.gateway-salt";

export function newSalt(): string {
  return encodeHexLowerCase(crypto.getRandomValues(new Uint8Array(16)));
}

export async function containerCredential(
  nodeSecret: Uint8Array<ArrayBuffer>,
  sessionId: string,
  salt: string,
): Promise<string> {
  const mac = await hmacSha256(nodeSecret, `provider-gateway|${sessionId}|${salt}`);
  return `${CREDENTIAL_PREFIX}${encodeHexLowerCase(mac)}`;
}
