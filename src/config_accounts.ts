// Settings of the account features (issue 17): mail, verified addresses, retention of history.
import { ConfigError } from "../common/config_error.ts";
import { parseDuration } from "./config.ts";

export type AccountsConfig = {
  /** smtp:// or smtps:// URL; null means no mail (reset links come from `clawfleet users reset-link`). */
  smtpUrl: string | null;
  mailFrom: string;
  /** A verified address is required before the first spawn (only meaningful with SMTP set). */
  requireVerifiedEmail: boolean;
  /** Audit entries and login attempts older than these are deleted by the housekeeping loop. */
  auditRetentionMs: number;
  loginHistoryRetentionMs: number;
};

export function loadAccountsConfig(get: (name: string) => string | undefined): AccountsConfig {
  const smtpUrl = get("CLAWFLEET_SMTP_URL") ?? null;
  if (smtpUrl) {
    let url: URL;
    try {
      url = new URL(smtpUrl);
    } catch {
      throw new ConfigError("CLAWFLEET_SMTP_URL: not a valid URL");
    }
    if (url.protocol !== "smtp:" && url.protocol !== "smtps:") {
      throw new ConfigError("CLAWFLEET_SMTP_URL: protocol must be smtp: or smtps:");
    }
  }
  const mailFrom = get("CLAWFLEET_MAIL_FROM") ?? "clawfleet <no-reply@localhost>";
  if (!/^[^\r\n<>]*<?[^\s@<>]+@[^\s@<>]+>?$/.test(mailFrom)) {
    throw new ConfigError("CLAWFLEET_MAIL_FROM: must be an address like `clawfleet <no-reply@example.com>`");
  }
  const require = get("CLAWFLEET_REQUIRE_VERIFIED_EMAIL") ?? "false";
  if (require !== "true" && require !== "false") {
    throw new ConfigError("CLAWFLEET_REQUIRE_VERIFIED_EMAIL: must be true or false");
  }
  return {
    smtpUrl,
    mailFrom,
    requireVerifiedEmail: require === "true",
    auditRetentionMs: parseDuration("CLAWFLEET_AUDIT_RETENTION", get("CLAWFLEET_AUDIT_RETENTION") ?? "365d"),
    loginHistoryRetentionMs: parseDuration(
      "CLAWFLEET_LOGIN_HISTORY_RETENTION",
      get("CLAWFLEET_LOGIN_HISTORY_RETENTION") ?? "30d",
    ),
  };
}
