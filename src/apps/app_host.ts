// Which session an apps-origin request is for: `<slug>.<CLAWFLEET_APPS_DOMAIN>[:port]`.
import { SLUG } from "../hooks/hook_secrets.ts";

export function appSlugOf(hostHeader: string | null, appsDomain: string): string | null {
  if (!hostHeader) return null;
  const host = hostHeader.toLowerCase().replace(/:\d+$/, "");
  const suffix = `.${appsDomain}`;
  if (!host.endsWith(suffix)) return null;
  const slug = host.slice(0, -suffix.length);
  return SLUG.test(slug) ? slug : null;
}

/** A same-origin path to go back to after the handshake; anything else becomes "/". */
export function safeNext(next: string | null): string {
  return next && /^\/(?![/\\])[\x21-\x7e]{0,2047}$/.test(next) ? next : "/";
}
