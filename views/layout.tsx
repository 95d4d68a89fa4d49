// The page shell: head (CSP-safe: every script and style is a file from /static), the header with
// navigation, a skip link, the flash region errors land in, and the CSRF header htmx sends.
import type { Children } from "@kitajs/html";
import { type AssetName, assetUrl } from "../src/http/static.ts";
import { render } from "./render.ts";

/** The signed-in user as the views see them. */
export type ConsoleUser = {
  email: string;
  isAdmin: boolean;
  csrf: string;
  /** Admins only: the server serves plain HTTP where others can reach it (src/tls/plain_http_warning.ts). */
  plainHttpWarning?: boolean;
};

export type NavKey =
  | "dashboard"
  | "keys"
  | "chat"
  | "channels"
  | "terminal"
  | "settings"
  | "account"
  | "admin";

const NAV: { key: NavKey; href: string; label: string; admin?: boolean }[] = [
  { key: "dashboard", href: "/dashboard", label: "Dashboard" },
  { key: "keys", href: "/keys", label: "Keys" },
  { key: "chat", href: "/chat", label: "Chat" },
  { key: "channels", href: "/channels", label: "Channels" },
  { key: "terminal", href: "/terminal", label: "Terminal" },
  { key: "settings", href: "/settings", label: "Settings" },
  { key: "account", href: "/account", label: "Account" },
  { key: "admin", href: "/admin", label: "Admin", admin: true },
];

// htmx 4 would otherwise inject its indicator CSS; ours is in console.css. No history snapshots:
// pages hold CSRF tokens and personal data.
const HTMX_CONFIG = JSON.stringify({ includeIndicatorCSS: false, history: false });

export function Layout(props: {
  title: string;
  user: ConsoleUser | null;
  active?: NavKey;
  narrow?: boolean;
  scripts?: AssetName[];
  styles?: AssetName[];
  /** Without JavaScript, reload the page this often (seconds): the spawn progress's fallback. */
  reloadEvery?: number;
  children?: Children;
}): string {
  const { user } = props;
  const csrfHeaders = user ? JSON.stringify({ "X-CSRF-Token": user.csrf }) : undefined;
  return `<!doctype html>${render(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title safe>{`${props.title} · clawfleet`}</title>
        <link rel="icon" href={assetUrl("favicon.svg")} type="image/svg+xml" />
        <link rel="stylesheet" href={assetUrl("console.css")} />
        {(props.styles ?? []).map((name) => (
          <link rel="stylesheet" href={assetUrl(name)} />
        ))}
        {props.reloadEvery ? (
          <noscript>
            <meta http-equiv="refresh" content={String(props.reloadEvery)} />
          </noscript>
        ) : (
          ""
        )}
        <script src={assetUrl("htmx.min.js")} defer></script>
        <script src={assetUrl("console.js")} defer></script>
        {(props.scripts ?? []).map((name) => (
          <script src={assetUrl(name)} defer></script>
        ))}
      </head>
      <body hx-headers:inherited={csrfHeaders}>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="site-header">
          <div class="inner">
            <a class="brand" href={user ? "/dashboard" : "/"}>
              clawfleet
            </a>
            {user ? (
              <>
                <nav aria-label="Main">
                  <ul class="nav">
                    {NAV.filter((item) => !item.admin || user.isAdmin).map((item) => (
                      <li>
                        <a href={item.href} aria-current={props.active === item.key ? "page" : undefined}>
                          {item.label}
                        </a>
                      </li>
                    ))}
                  </ul>
                </nav>
                <span class="who" title={user.email} safe>
                  {user.email}
                </span>
                <form class="signout" method="post" action="/logout">
                  <input type="hidden" name="_csrf" value={user.csrf} />
                  <button type="submit">Sign out</button>
                </form>
              </>
            ) : (
              <nav aria-label="Account">
                <ul class="nav">
                  <li>
                    <a href="/login">Sign in</a>
                  </li>
                  <li>
                    <a href="/signup">Create account</a>
                  </li>
                </ul>
              </nav>
            )}
          </div>
        </header>
        <main id="main" class={props.narrow ? "narrow" : undefined} tabindex="-1">
          <div id="flash" class="flash" role="alert" aria-live="assertive"></div>
          {props.user?.plainHttpWarning ? (
            <div id="plain-http-warning" class="alert alert-error" role="alert">
              This server serves plain HTTP on a non-loopback address: passwords and cookies cross the network
              unencrypted. Set CLAWFLEET_DOMAIN for automatic HTTPS, or put a TLS proxy in front.
            </div>
          ) : null}
          {props.children}
        </main>
        <footer class="site-footer">
          <a href="/api/docs">API reference</a>
        </footer>
      </body>
    </html>,
  )}`;
}
