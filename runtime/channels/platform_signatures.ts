// The two webhook signatures the runtime checks, one function each, both compared in constant time:
// Slack signs `v0:<timestamp>:<raw body>` with the app's signing secret (X-Slack-Signature `v0=<hex>`,
// refused outside a 5-minute window against replays); Meta signs the raw body with the app secret
// (X-Hub-Signature-256 `sha256=<hex>`). Both are over the exact bytes received, never a re-encoding.
import { encodeHexLowerCase } from "@oslojs/encoding";
import { constantTimeEqual, hmacSha256 } from "../../common/crypto.ts";

export const SLACK_WINDOW_SECONDS = 5 * 60;

const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  return encodeHexLowerCase(await hmacSha256(encoder.encode(secret), message));
}

export async function slackSignatureValid(
  signingSecret: string,
  headers: Headers,
  rawBody: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<boolean> {
  const timestamp = headers.get("x-slack-request-timestamp") ?? "";
  const signature = headers.get("x-slack-signature") ?? "";
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_WINDOW_SECONDS) return false;
  const expected = `v0=${await hmacHex(signingSecret, `v0:${timestamp}:${rawBody}`)}`;
  return constantTimeEqual(signature, expected);
}

export async function metaSignatureValid(
  appSecret: string,
  headers: Headers,
  rawBody: string,
): Promise<boolean> {
  const signature = headers.get("x-hub-signature-256") ?? "";
  return constantTimeEqual(signature, `sha256=${await hmacHex(appSecret, rawBody)}`);
}
