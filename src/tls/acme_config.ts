// The ACME settings: CLAWFLEET_DOMAIN turns automatic HTTPS on; the rest have working defaults.
import { readFileSync } from "node:fs";
import { ConfigError } from "../../common/config_error.ts";
import { parsePort } from "../config.ts";
import type { AcmeConfig } from "./auto_https.ts";

export type { AcmeConfig };

export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";
export const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

export function parseAcmeConfig(
  get: (name: string) => string | undefined,
  hasOwnCert: boolean,
): AcmeConfig | null {
  const domain = get("CLAWFLEET_DOMAIN")?.toLowerCase();
  if (!domain) return null;
  if (!HOSTNAME.test(domain)) {
    throw new ConfigError(`CLAWFLEET_DOMAIN: "${domain}" is not a DNS name (like clawfleet.example.com)`);
  }
  if (hasOwnCert) {
    throw new ConfigError("CLAWFLEET_DOMAIN: set it or CLAWFLEET_TLS_CERT/CLAWFLEET_TLS_KEY, not both");
  }
  const directoryUrl = get("CLAWFLEET_ACME_DIRECTORY") ?? LETS_ENCRYPT_DIRECTORY;
  let url: URL;
  try {
    url = new URL(directoryUrl);
  } catch {
    throw new ConfigError("CLAWFLEET_ACME_DIRECTORY: not a valid URL");
  }
  if (url.protocol !== "https:") throw new ConfigError("CLAWFLEET_ACME_DIRECTORY: must be an https:// URL");
  const caPath = get("CLAWFLEET_ACME_CA_CERT");
  let directoryCa: string | null = null;
  if (caPath) {
    try {
      directoryCa = readFileSync(caPath, "utf8");
    } catch {
      throw new ConfigError(`CLAWFLEET_ACME_CA_CERT: cannot read ${caPath}`);
    }
    if (!directoryCa.includes("-----BEGIN CERTIFICATE-----")) {
      throw new ConfigError("CLAWFLEET_ACME_CA_CERT: not a PEM certificate");
    }
  }
  const email = get("CLAWFLEET_ACME_EMAIL") ?? null;
  if (email && !/^[^@\s]+@[^@\s]+$/.test(email)) {
    throw new ConfigError("CLAWFLEET_ACME_EMAIL: not an email address");
  }
  return {
    domain,
    httpPort: parsePort("CLAWFLEET_HTTP_PORT", get("CLAWFLEET_HTTP_PORT") ?? "80"),
    directoryUrl,
    email,
    directoryCa,
  };
}
