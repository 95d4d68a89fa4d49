// The gateway token check, constant-time and length-independent (common/crypto.ts).
import { constantTimeEqual } from "../../common/crypto.ts";

export function bearerTokenMatches(header: string | null, expected: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? "");
  return constantTimeEqual(match?.[1] ?? "", expected);
}
