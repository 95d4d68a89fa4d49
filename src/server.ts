// One server process: database, keys, the Elysia app, the session WebSocket proxy, /metrics, the
// background loops (elected through advisory locks), and in all-in-one mode a local agent.

import type { Server } from "bun";
import type { KeyringEntry } from "../common/keyring.ts";
import { createLogger, type Logger } from "../common/log.ts";
import { noDebugPages } from "../common/no_debug_pages.ts";
import { appSlugOf } from "./apps/app_host.ts";
import { APP_OPEN_PATH, createAppOpenHandler } from "./apps/app_open.ts";
import { createAppProxy } from "./apps/app_proxy.ts";
import { createAppSockets, dispatchSockets } from "./apps/app_socket.ts";
import { accessTokenSigner } from "./auth/access_tokens.ts";
import { pruneHistory } from "./auth/account_history.ts";
import { assertAdmin } from "./auth/admin_guard.ts";
import { deriveAuthKeys } from "./auth/keys.ts";
import { pruneLoginAttempts } from "./auth/login_throttle.ts";
import { DEFAULT_SIGN_IN_POLICY } from "./auth/refresh_tokens.ts";
import { getUser } from "./auth/users.ts";
import type { ServerConfig } from "./config.ts";
import type { AppContext } from "./context.ts";
import { isDatabaseUnavailable } from "./db/availability.ts";
import { openDatabase, releaseStartupGarbage } from "./db/client.ts";
import { LOCKS, startLeaderLoop } from "./db/leader.ts";
import { migrate } from "./db/migrate.ts";
import { UserError } from "./errors.ts";
import { agentConnector } from "./fleet/agent_connector.ts";
import type { AgentConnector } from "./fleet/agent_port.ts";
import { Fleet } from "./fleet/fleet.ts";
import { maybeStartLocalAgent } from "./fleet/local_agent.ts";
import { agentChannel, isAgentChannelPath } from "./gateway/agent_channel.ts";
import { createHookHandler, isHookRequest } from "./hooks/hook_request.ts";
import { verifyAccess } from "./http/api_base.ts";
import { buildApp } from "./http/app.ts";
import { isSecureRequest } from "./http/client_ip.ts";
import { startEmbeddedAuthCache } from "./http/embedded_auth_cache.ts";
import { errorBody, userErrorResponse } from "./http/errors.ts";
import { pruneRateCounters } from "./http/rate_limit.ts";
import { PEER_HEADER } from "./http/request_facts.ts";
import { newRequestId, REQUEST_ID_HEADER, withRequestId } from "./http/request_id.ts";
import { securityHeaders } from "./http/security_headers.ts";
import { createMailer } from "./mail/mailer.ts";
import { metrics, routeLabel } from "./observability/metrics.ts";
import { renderMetrics } from "./observability/metrics_route.ts";
import { OpenSockets } from "./proxy/open_sockets.ts";
import { createSessionWsProxy, SESSION_WS_PATHS } from "./proxy/session_ws.ts";
import { closeSocketsOnSignOut } from "./proxy/sign_out_listener.ts";
import { loadMasterKeyring } from "./secrets/master_keys.ts";
import { sessionVolumeKey } from "./secrets/volume_keys.ts";
import { Lifecycle } from "./sessions/lifecycle.ts";
import { reconcileOnce } from "./sessions/reconciler.ts";
import { type AutoHttps, startAutoHttps } from "./tls/auto_https.ts";
import { PLAIN_HTTP_WARNING, servesPlainHttpPublicly } from "./tls/plain_http_warning.ts";

export type ServerOptions = {
  connect?: AgentConnector;
  localAgent?: boolean;
};

export type RunningServer = {
  url: string;
  ctx: AppContext;
  lifecycle: Lifecycle;
  reconcile(): Promise<void>;
  /** HTTP requests accepted and not yet answered (graceful shutdown waits for them). */
  pendingRequests(): number;
  /** Automatic HTTPS when CLAWFLEET_DOMAIN is set (renewIfDue is for operators' tools and tests). */
  autoHttps: AutoHttps | null;
  stop(): Promise<void>;
};

function jsonResponse(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

export async function startServer(
  config: ServerConfig,
  log: Logger = createLogger(config.logLevel),
  options: ServerOptions = {},
): Promise<RunningServer> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const applied = await migrate(database.db);
  if (applied.length) log.info("migrations applied", { migrations: applied });
  const keyring = await loadMasterKeyring(config);
  const embeddedAuth = await startEmbeddedAuthCache(database);
  const ctx: AppContext = {
    config,
    database,
    log,
    keyring,
    mailer: createMailer(config.accounts),
    auth: {
      keys: await deriveAuthKeys(keyring.newestSecret),
      policy: { ...DEFAULT_SIGN_IN_POLICY, ...config.session },
    },
    apiCache: embeddedAuth?.cache ?? null,
  };

  const local = options.localAgent === false ? null : await maybeStartLocalAgent(config, database.db, log);
  const clusterKeys: KeyringEntry[] = local?.keys ?? config.clusterSecrets;
  const lifecycle = new Lifecycle({
    db: database.db,
    log,
    fleet: new Fleet(database.db, options.connect ?? agentConnector(clusterKeys, keyring)),
    volumeKeyFor: (session) => sessionVolumeKey(database.db, keyring, session),
    defaultTemplate: "clawfleet-runtime",
  });
  const channel = agentChannel({ db: database.db, keyring, keys: clusterKeys, log });
  // The local agent's gateway reaches this server's handler in-process (same signing, no socket).
  local?.agent.connectServer({
    url: "http://all-in-one.invalid",
    fetch: ((input: string | URL | Request, init?: RequestInit) =>
      channel.handle(new Request(input, init))) as typeof fetch,
  });
  const openSockets = new OpenSockets();
  const stopSignOutListener = await closeSocketsOnSignOut(database, openSockets, log);
  const proxy = createSessionWsProxy(ctx, lifecycle, openSockets);
  const tokens = accessTokenSigner(ctx.auth.keys.accessTokenSecret);
  const handleHook = createHookHandler(ctx, lifecycle);
  const appSockets = createAppSockets(ctx, lifecycle);
  const apps =
    config.appsDomain && config.publicUrl
      ? {
          domain: config.appsDomain,
          open: createAppOpenHandler(ctx, tokens, config.appsDomain, config.publicUrl),
          proxy: createAppProxy(ctx, lifecycle, config.publicUrl, appSockets),
        }
      : null;
  const app = buildApp(ctx, lifecycle);

  async function metricsResponse(request: Request): Promise<Response> {
    const header = request.headers.get("authorization");
    const auth = header?.startsWith("Bearer ")
      ? await verifyAccess(ctx, tokens, header.slice(7).trim())
      : null;
    if (!auth)
      return jsonResponse(401, errorBody("unauthenticated", "Metrics need an administrator's token."));
    try {
      assertAdmin(await getUser(database.db, auth.userId), "read metrics");
    } catch (error) {
      if (error instanceof UserError) return userErrorResponse(error);
      throw error;
    }
    return new Response(await renderMetrics(ctx, proxy.metrics), {
      headers: { "content-type": "text/plain; version=0.0.4" },
    });
  }

  const autoHttps = config.acme
    ? await startAutoHttps({
        acme: config.acme,
        dataDir: config.dataDir,
        host: config.host,
        httpsPort: config.port,
        log,
      })
    : null;
  const tls = autoHttps
    ? autoHttps.certificate
    : config.tls
      ? { cert: Bun.file(config.tls.cert), key: Bun.file(config.tls.key) }
      : undefined;
  if (servesPlainHttpPublicly(config.host, Boolean(tls))) log.warn(PLAIN_HTTP_WARNING, { host: config.host });
  const serveOptions = (tlsOptions: typeof tls) => ({
    port: config.port,
    hostname: config.host,
    tls: tlsOptions,
    maxRequestBodySize: 1024 * 1024,
    ...noDebugPages(log, "server"),
    async fetch(request: Request, srv: Server<unknown>) {
      const peer = srv.requestIP(request)?.address ?? "unknown";
      const url = new URL(request.url);
      if (SESSION_WS_PATHS[url.pathname] && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        try {
          return await proxy.upgrade(request, srv as never, peer);
        } catch (error) {
          if (isDatabaseUnavailable(error)) {
            return jsonResponse(503, errorBody("database_unavailable", "Try again in a moment."));
          }
          log.error("WebSocket upgrade failed", { error, path: url.pathname });
          return jsonResponse(500, errorBody("internal", "Something went wrong on our side."));
        }
      }
      const appSlug = apps ? appSlugOf(request.headers.get("host"), apps.domain) : null;
      if (apps && appSlug) {
        // An app's own origin: nothing of the console (pages, API, cookies, headers) applies here.
        const response = await apps.proxy(request, appSlug, peer, srv as never);
        metrics.requests.inc({ route: "/apps", status: String(response?.status ?? 101) });
        return response;
      }
      if (apps && url.pathname === APP_OPEN_PATH) return apps.open(request);
      if (isHookRequest(url.pathname)) {
        // Apart from the rest: the URL holds the hook secret, so it never reaches logs or metrics.
        const response = await handleHook(request, peer);
        metrics.requests.inc({ route: "/hooks", status: String(response.status) });
        return response;
      }
      const requestId = newRequestId();
      const headers = new Headers(request.headers);
      headers.set(PEER_HEADER, peer);
      headers.set(REQUEST_ID_HEADER, requestId);
      const forwarded = new Request(request, { headers });
      let response: Response;
      try {
        response =
          url.pathname === "/metrics"
            ? await metricsResponse(forwarded)
            : isAgentChannelPath(url.pathname)
              ? await channel.handle(request)
              : await app.handle(forwarded);
      } catch (error) {
        if (isDatabaseUnavailable(error)) {
          response = jsonResponse(
            503,
            errorBody("database_unavailable", "The service is briefly unavailable. Try again in a moment."),
          );
        } else {
          log.error("request failed", { error, path: url.pathname, request_id: requestId });
          response = jsonResponse(500, errorBody("internal", "Something went wrong on our side."));
        }
      }
      const secure = isSecureRequest(request, peer, config.trustedProxies);
      for (const [name, value] of Object.entries(securityHeaders(secure, url.pathname)))
        response.headers.set(name, value);
      metrics.requests.inc({
        route: routeLabel(url.pathname, response.status),
        status: String(response.status),
      });
      return withRequestId(response, requestId);
    },
    websocket: dispatchSockets(proxy.handlers, appSockets.handlers) as never,
  });
  let server = Bun.serve(serveOptions(tls));
  // Bun cannot swap a listener's certificate in place: a renewed one gets a new listener on the same
  // port once the old one stopped accepting (open connections finish on the old certificate).
  autoHttps?.onRenewed(async (pair) => {
    const old = server;
    // Not awaited: stop() closes the listening socket at once but resolves only when long-lived
    // WebSockets end.
    void old.stop();
    server = Bun.serve(serveOptions(pair));
    log.info("https: serving the renewed certificate", { domain: config.acme?.domain });
  });

  const reconcile = () =>
    reconcileOnce(database.db, lifecycle, log, {
      staleSpawnMs: config.fleet.spawnRetryAfterMs,
      spawnTimeoutMs: config.fleet.spawnTimeoutMs,
      tickSeconds: config.fleet.reconcileIntervalMs / 1000,
    });
  const reconciler = startLeaderLoop(database, {
    name: "reconciler",
    key: LOCKS.reconciler,
    intervalMs: config.fleet.reconcileIntervalMs,
    log,
    tick: reconcile,
  });
  const housekeeping = startLeaderLoop(database, {
    name: "housekeeping",
    key: LOCKS.housekeeping,
    intervalMs: 60_000,
    log,
    tick: async () => {
      await pruneLoginAttempts(database.db);
      await pruneHistory(database.db, {
        auditMs: config.accounts.auditRetentionMs,
        loginMs: config.accounts.loginHistoryRetentionMs,
      });
      await pruneRateCounters(ctx);
    },
  });

  const scheme = tls ? "https" : "http";
  const url = `${scheme}://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${server.port}`;
  if (database.driver === "pglite") await releaseStartupGarbage();
  log.info("clawfleet listening", {
    url,
    database: database.driver,
    dataDir: config.dataDir,
    allInOne: Boolean(local),
  });
  return {
    url,
    ctx,
    lifecycle,
    reconcile,
    pendingRequests: () => server.pendingRequests,
    autoHttps,
    /** Graceful: WebSocket clients get a close frame (1001), in-flight requests finish, then the rest. */
    async stop() {
      proxy.closeAll(1001, "server shutting down");
      appSockets.closeAll(1001, "server shutting down");
      await reconciler.stop();
      await housekeeping.stop();
      await stopSignOutListener().catch(() => {});
      await embeddedAuth?.stop().catch(() => {});
      await autoHttps?.stop();
      await server.stop();
      await local?.agent.stop();
      await database.close();
    },
  };
}
