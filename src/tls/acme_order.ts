// One certificate order through ACME (RFC 8555) with acme-client: HTTP-01, answered by the plain-HTTP
// listener's ChallengeResponses. The CA validates by connecting to the domain itself, so an order
// only succeeds when the domain really points at this server.
import { Agent } from "node:https";
import * as acme from "acme-client";
import type { CertificatePair } from "./cert_store.ts";
import type { ChallengeResponses } from "./http_listener.ts";

export type AcmeOrderOptions = {
  directoryUrl: string;
  domain: string;
  email: string | null;
  accountKey: string;
  /** The account's URL once registered: without it a CA sees a re-registration of a known key. */
  accountUrl: string | null;
  challenges: ChallengeResponses;
  /** PEM of a private CA to trust for the directory's own HTTPS (step-ca, pebble); null: system roots. */
  directoryCa: string | null;
};

export function newAccountKey(): Promise<string> {
  return acme.crypto.createPrivateEcdsaKey("P-256").then((key) => key.toString());
}

export async function orderCertificate(
  options: AcmeOrderOptions,
): Promise<CertificatePair & { accountUrl: string }> {
  // acme-client has one HTTP client per process; a server has one ACME directory, so setting its
  // trust here is not shared with anything else.
  acme.axios.defaults.httpsAgent = options.directoryCa ? new Agent({ ca: options.directoryCa }) : undefined;
  const client = new acme.Client({
    directoryUrl: options.directoryUrl,
    accountKey: options.accountKey,
    ...(options.accountUrl ? { accountUrl: options.accountUrl } : {}),
  });
  const [key, csr] = await acme.crypto.createCsr(
    { commonName: options.domain, altNames: [options.domain] },
    await acme.crypto.createPrivateEcdsaKey("P-256"),
  );
  const cert = await client.auto({
    csr,
    email: options.email ?? undefined,
    termsOfServiceAgreed: true,
    challengePriority: ["http-01"],
    // acme-client's own pre-check fetches http://<domain>/ on port 80 through the system resolver;
    // the CA's validation is the one that counts, and it is not fooled by a local resolver.
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
      options.challenges.set(challenge.token, keyAuthorization);
    },
    challengeRemoveFn: async (_authz, challenge) => {
      options.challenges.delete(challenge.token);
    },
  });
  return { cert, key: key.toString(), accountUrl: client.getAccountUrl() };
}
