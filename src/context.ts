import type { Logger } from "../common/log.ts";
import type { AuthKeys } from "./auth/keys.ts";
import type { SignInPolicy } from "./auth/refresh_tokens.ts";
import type { ServerConfig } from "./config.ts";
import type { Database } from "./db/client.ts";
import type { EmbeddedAuthCache } from "./http/embedded_auth_cache.ts";
import type { Mailer } from "./mail/mailer.ts";
import type { MasterKeyring } from "./secrets/master_keys.ts";

/** What every route and background loop of one server process shares. */
export type AppContext = {
  config: ServerConfig;
  database: Database;
  log: Logger;
  auth: { keys: AuthKeys; policy: SignInPolicy };
  keyring: MasterKeyring;
  /** Null without CLAWFLEET_SMTP_URL. */
  mailer: Mailer | null;
  /** The authenticated API's reads and counts in memory; only on PGlite (src/http/embedded_auth_cache.ts). */
  apiCache?: EmbeddedAuthCache | null;
};
