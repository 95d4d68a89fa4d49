// Automatic HTTPS: the plain-HTTP listener (challenges + redirect) starts first, then a stored
// certificate is used when it has more than RENEW_BEFORE_MS left, otherwise one is ordered. A timer
// checks twice a day and renews in the last 30 days (Let's Encrypt's own advice for 90-day
// certificates); a failed renewal is logged and retried at the next check, the old certificate
// serving meanwhile.
import type { Logger } from "../../common/log.ts";
import { newAccountKey, orderCertificate } from "./acme_order.ts";
import {
  type CertificatePair,
  readAccountUrl,
  readCertificate,
  readOrCreateAccountKey,
  writeAccountUrl,
  writeCertificate,
} from "./cert_store.ts";
import { ChallengeResponses, startHttpListener } from "./http_listener.ts";

export const RENEW_BEFORE_MS = 30 * 86_400_000;
export const RENEWAL_CHECK_MS = 12 * 3_600_000;

export type AcmeConfig = {
  domain: string;
  httpPort: number;
  directoryUrl: string;
  email: string | null;
  directoryCa: string | null;
};

export type AutoHttps = {
  certificate: CertificatePair;
  /** Called with each renewed certificate (the caller swaps its listener). */
  onRenewed(listener: (pair: CertificatePair) => void | Promise<void>): void;
  /** Checks now and renews when due; true when a new certificate was obtained. */
  renewIfDue(now?: Date): Promise<boolean>;
  stop(): Promise<void>;
};

export type AutoHttpsOptions = {
  acme: AcmeConfig;
  dataDir: string;
  host: string;
  httpsPort: number;
  log: Logger;
};

export async function startAutoHttps(options: AutoHttpsOptions): Promise<AutoHttps> {
  const { acme, dataDir, log } = options;
  const challenges = new ChallengeResponses();
  const http = startHttpListener({
    host: options.host,
    port: acme.httpPort,
    domain: acme.domain,
    httpsPort: options.httpsPort,
    challenges,
  });
  const accountKey = await readOrCreateAccountKey(dataDir, newAccountKey);

  async function obtain(): Promise<CertificatePair> {
    log.info("acme: ordering a certificate", { domain: acme.domain, directory: acme.directoryUrl });
    const accountUrl = await readAccountUrl(dataDir);
    const {
      cert,
      key,
      accountUrl: registered,
    } = await orderCertificate({ ...acme, accountKey, accountUrl, challenges });
    if (registered !== accountUrl) await writeAccountUrl(dataDir, registered);
    const pair = { cert, key };
    await writeCertificate(dataDir, acme.domain, pair);
    log.info("acme: certificate stored", { domain: acme.domain });
    return pair;
  }

  let certificate: CertificatePair;
  try {
    const stored = await readCertificate(dataDir, acme.domain);
    certificate =
      stored && stored.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS ? stored : await obtain();
  } catch (error) {
    http.stop(true);
    throw error;
  }

  const listeners: ((pair: CertificatePair) => void | Promise<void>)[] = [];
  let renewing: Promise<boolean> | null = null;

  async function renewIfDue(now = new Date()): Promise<boolean> {
    const stored = await readCertificate(dataDir, acme.domain);
    if (stored && stored.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS) return false;
    const pair = await obtain();
    certificate = pair;
    for (const listener of listeners) await listener(pair);
    return true;
  }

  const timer = setInterval(() => {
    if (renewing) return;
    renewing = renewIfDue()
      .catch((error) => {
        log.error("acme: renewal failed; the current certificate keeps serving", { error });
        return false;
      })
      .finally(() => {
        renewing = null;
      });
  }, RENEWAL_CHECK_MS);
  timer.unref?.();

  return {
    get certificate() {
      return certificate;
    },
    onRenewed: (listener) => listeners.push(listener),
    renewIfDue,
    async stop() {
      clearInterval(timer);
      await renewing;
      await http.stop(true);
    },
  };
}
