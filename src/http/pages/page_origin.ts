// Whether a console form post comes from the console itself. The security headers send
// `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` with plain (non-fetch)
// form posts, even same-origin ones. So: a real Origin must be ours; a null or missing one is
// accepted only with `Sec-Fetch-Site: same-origin`, which a browser sets itself and pages cannot forge.
import { isSafeMethod } from "../../auth/csrf.ts";

export function pageOriginAllowed(request: Request, expected: string): boolean {
  if (isSafeMethod(request.method)) return true;
  const origin = request.headers.get("origin");
  if (origin && origin !== "null") return origin === expected;
  return request.headers.get("sec-fetch-site") === "same-origin";
}
