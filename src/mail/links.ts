// Links in mails point at CLAWFLEET_PUBLIC_URL. Never at the request's Host header: an attacker could
// set it and receive someone else's reset token. Without a public URL, the server's own address.
import type { ServerConfig } from "../config.ts";

export function publicLink(
  config: Pick<ServerConfig, "publicUrl" | "tls" | "host" | "port">,
  path: string,
  params: Record<string, string>,
): string {
  const { publicUrl, tls, host, port } = config;
  const base = publicUrl ?? `${tls ? "https" : "http"}://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  const url = new URL(path, base.endsWith("/") ? base : `${base}/`);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}
