// The plain-HTTP listener beside the HTTPS one (CLAWFLEET_HTTP_PORT): it answers ACME HTTP-01
// challenges and redirects everything else to HTTPS. The redirect target is built from the configured
// domain, never from the Host header, so this port cannot be used as an open redirect.
import type { Server } from "bun";

const CHALLENGE_PREFIX = "/.well-known/acme-challenge/";
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** Key authorizations of the challenges in flight, by token; filled and emptied by the ACME client. */
export class ChallengeResponses {
  private readonly byToken = new Map<string, string>();
  set(token: string, keyAuthorization: string): void {
    this.byToken.set(token, keyAuthorization);
  }
  delete(token: string): void {
    this.byToken.delete(token);
  }
  get(token: string): string | undefined {
    return this.byToken.get(token);
  }
}

export type HttpListenerOptions = {
  host: string;
  port: number;
  domain: string;
  httpsPort: number;
  challenges: ChallengeResponses;
};

export function httpsUrlFor(domain: string, httpsPort: number, pathAndQuery: string): string {
  const port = httpsPort === 443 ? "" : `:${httpsPort}`;
  return `https://${domain}${port}${pathAndQuery}`;
}

export function answerPlainHttp(request: Request, options: HttpListenerOptions): Response {
  const url = new URL(request.url);
  if (url.pathname.startsWith(CHALLENGE_PREFIX)) {
    const token = url.pathname.slice(CHALLENGE_PREFIX.length);
    const answer = TOKEN.test(token) ? options.challenges.get(token) : undefined;
    return answer === undefined
      ? new Response("not found\n", { status: 404, headers: { "content-type": "text/plain" } })
      : new Response(answer, { headers: { "content-type": "application/octet-stream" } });
  }
  // 308 keeps the method and body, so an API client that posted over HTTP is not silently turned
  // into a GET; HSTS on the HTTPS side makes browsers skip this hop next time.
  return new Response(null, {
    status: 308,
    headers: { location: httpsUrlFor(options.domain, options.httpsPort, url.pathname + url.search) },
  });
}

export function startHttpListener(options: HttpListenerOptions): Server<undefined> {
  return Bun.serve({
    hostname: options.host,
    port: options.port,
    maxRequestBodySize: 64 * 1024,
    fetch: (request) => answerPlainHttp(request, options),
  });
}
