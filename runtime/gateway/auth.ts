// The gateway token check. Both sides are hashed first so the comparison is constant-time and
// length-independent: timingSafeEqual needs equal lengths, and comparing raw lengths would leak one.
import { createHash, timingSafeEqual } from "node:crypto";

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

export function bearerTokenMatches(header: string | null, expected: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? "");
  const presented = match?.[1] ?? "";
  const equal = timingSafeEqual(digest(presented), digest(expected));
  return equal && presented !== "";
}
