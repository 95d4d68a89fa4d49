import type { Logger } from "../common/log.ts";
import type { AuthKeys } from "./auth/keys.ts";
import type { SignInPolicy } from "./auth/refresh_tokens.ts";
import type { SignInCache } from "./auth/sign_in_cache.ts";
import type { ServerConfig } from "./config.ts";
import type { Database } from "./db/client.ts";
import type { Mailer } from "./mail/mailer.ts";
import type { MasterKeyring } from "./secrets/master_keys.ts";

/** What every route and background loop of one server process shares. */
export type AppContext = {
  config: ServerConfig;
  database: Database;
  log: Logger;
  /** `signIns`: active sign-ins recently read, dropped on NOTIFY from any replica (sign_in_cache.ts). */
  auth: { keys: AuthKeys; policy: SignInPolicy; signIns: SignInCache };
  keyring: MasterKeyring;
  /** Null without CLAWFLEET_SMTP_URL. */
  mailer: Mailer | null;
};
