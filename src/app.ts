import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './app-env.ts';
import { ensureSchemaVersion } from './db/schema-version.ts';
import { createDeps, type DepsOverride } from './deps.ts';
import { loadConfig, type ConfigResult, type Env } from './env.ts';
import { unavailableAnswer } from './dependencies.ts';
import { AppError, errorBody } from './errors.ts';
import { accountRoutes } from './features/accounts/routes.ts';
import { adminRoutes } from './features/admin/routes.ts';
import { consoleAssetRoutes } from './features/console/assets.ts';
import { consoleIndexRoutes, consoleRoutes } from './features/console/routes.ts';
import { consentRoutes } from './features/clients/consents/routes.ts';
import { docsRoutes } from './features/docs/routes.ts';
import { EMAIL_CREDENTIAL_PATHS, emailRoutes } from './features/email/routes.ts';
import { federationRoutes } from './features/federation/routes.ts';
import { healthRoutes } from './features/health/routes.ts';
import { recordRequestMetrics } from './features/metrics/middleware.ts';
import { mfaRoutes } from './features/mfa/routes.ts';
import { oidcRoutes } from './features/oidc/routes.ts';
import { passkeyRoutes } from './features/passkeys/routes.ts';
import { assetRoutes } from './features/pages/assets.ts';
import { pageRoutes } from './features/pages/routes.ts';
import { allRouteDocs } from './route-docs.ts';
import { avatarRoutes } from './features/avatars/routes.ts';
import { privacyRoutes } from './features/privacy/routes.ts';
import { sessionRoutes } from './features/sessions/routes.ts';
import { tenantCORS, tenantScope } from './features/tenants/middleware.ts';
import { tokenRoutes } from './features/tokens/routes.ts';
import { securityHeaders } from './http/security-headers.ts';
import { assertCleanURL, decodeOrRaw } from './http/text.ts';
import { credentialTimingFloor } from './http/timing-floor.ts';
import { createLogger, describeError } from './log.ts';
import { currentRequestScope, runInRequestScope } from './request-scope.ts';

export interface AppOptions {
  /** Replaces dependencies for every request (tests: frozen clock, failing database). */
  overrideDeps?: DepsOverride;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TENANT_PREFIX = /^\/t\/([^/]+)(\/.*)?$/;

/** Builds the Hono app. Called once per isolate by the entry; tests build their own. */
export function createApp(options: AppOptions = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // One JSON line per request, written after the response is known.
  app.use(async (c, next) => {
    const started = performance.now();
    const requestId = currentRequestScope()?.requestId ?? crypto.randomUUID();
    c.set('requestId', requestId);
    c.set('requestStartedAt', Date.now());
    c.set('tenantSlug', undefined);
    await next();
    c.header('X-Request-Id', requestId);
    const config = loadConfig(c.env);
    const log = createLogger(config.ok ? config.config.logLevel : 'info');
    const status = c.res.status;
    log[status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info']('request', {
      requestId,
      tenantSlug: c.var.tenantSlug,
      method: c.req.method,
      // Path only: query strings carry codes and tokens in some flows.
      path: currentRequestScope()?.path ?? c.req.path,
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
  });

  app.use(securityHeaders);

  // The text rule for the URL, before any work: every path segment and query parameter decodes
  // to UTF-8 without control characters (src/http/text.ts). Bodies get it in readJSON.
  app.use(async (c, next) => {
    const url = new URL(c.req.url);
    assertCleanURL(currentRequestScope()?.path ?? url.pathname, url.search);
    await next();
  });

  // A configuration that fails validation refuses every request, naming the setting.
  app.use(async (c, next) => {
    const result = loadConfig(c.env);
    if (!result.ok) {
      reportMisconfiguration(result);
      throw new AppError(
        'misconfigured',
        result.problems.map((problem) => `${problem.setting} ${problem.message}`).join('; '),
      );
    }
    const config = result.config;
    const log = createLogger(config.logLevel, { requestId: c.var.requestId });
    const deps = createDeps({
      env: c.env,
      config,
      log,
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    });
    c.set('deps', options.overrideDeps ? { ...deps, ...options.overrideDeps(deps) } : deps);
    await next();
  });

  app.route('/', healthRoutes);
  app.route('/', docsRoutes(allRouteDocs));
  // The hosted pages' CSS and JS: tenant-independent, no database, long-cached.
  app.route('/', assetRoutes);
  app.route('/', consoleAssetRoutes);

  // Metrics for everything below (not the probes and docs above, which answer without next()).
  app.use(recordRequestMetrics);

  // Everything below needs a schema this build may serve (its own, or ahead by additive migrations).
  app.use(async (c, next) => {
    const { config, db } = c.var.deps;
    await ensureSchemaVersion(config.databaseURL, db);
    await next();
  });

  // The admin API: before the tenant API, which is mounted at the root.
  app.route('/admin/api/v1', adminRoutes);
  // The admin console: HTML pages over the same services, at /admin/.
  app.route('/', consoleIndexRoutes);
  app.route('/admin', consoleRoutes);

  // The end-user API of one tenant, at /t/{slug}/… (the fetch handler moves the slug into the
  // request scope) and, for DEFAULT_TENANT or a custom hostname, at the root.
  const tenantAPI = new Hono<AppEnv>();
  tenantAPI.use(tenantScope, tenantCORS);
  // Credential endpoints answer no sooner than the tenant's floor; later ones add theirs here.
  for (const path of [
    '/v1/auth/login',
    '/v1/auth/register',
    '/v1/auth/mfa/challenge',
    ...EMAIL_CREDENTIAL_PATHS,
  ])
    tenantAPI.use(path, credentialTimingFloor);
  tenantAPI.route('/', accountRoutes);
  tenantAPI.route('/', sessionRoutes);
  tenantAPI.route('/', privacyRoutes);
  tenantAPI.route('/', avatarRoutes);
  tenantAPI.route('/', tokenRoutes);
  tenantAPI.route('/', mfaRoutes);
  tenantAPI.route('/', passkeyRoutes);
  tenantAPI.route('/', emailRoutes);
  tenantAPI.route('/', consentRoutes);
  tenantAPI.route('/', oidcRoutes);
  tenantAPI.route('/', federationRoutes);
  // Hosted pages: their POST handlers carry the credential timing floor themselves.
  tenantAPI.route('/', pageRoutes);
  app.route('/', tenantAPI);

  app.notFound((c) =>
    c.json(
      { error: 'not_found', error_description: `no route for ${c.req.method} ${c.req.path}` },
      404,
    ),
  );

  app.onError((error, c) => {
    // A dependency that failed or missed its deadline: a 503 to retry, logged once, here.
    const unavailable = error instanceof AppError ? null : unavailableAnswer(error);
    if (unavailable !== null) {
      createLogger('error').error('dependency unavailable', {
        requestId: c.var.requestId,
        dependency: unavailable.dependency,
        ...describeError(error, false),
      });
      error = unavailable.error;
    }
    if (error instanceof AppError) {
      const response = c.json(errorBody(error), error.status);
      for (const [name, value] of Object.entries(error.headers ?? {})) {
        response.headers.set(name, value);
      }
      if (error.status === 401 && !response.headers.has('WWW-Authenticate')) {
        response.headers.set('WWW-Authenticate', `Bearer error="${error.code}"`);
      }
      return response;
    }
    if (error instanceof HTTPException && error.status < 500) {
      const code = error.status === 413 ? 'payload_too_large' : 'invalid_request';
      return c.json({ error: code, error_description: error.message || code }, error.status);
    }
    const config = loadConfig(c.env);
    createLogger('error').error('unhandled error', {
      requestId: c.var.requestId,
      ...describeError(error, config.ok && config.config.environment !== 'production'),
    });
    return c.json(
      {
        error: 'server_error',
        error_description: 'internal error',
        request_id: c.var.requestId,
      },
      500,
    );
  });

  return app;
}

const reported = new WeakSet<ConfigResult>();

/** Logged once per isolate, not once per refused request. */
function reportMisconfiguration(result: ConfigResult & { ok: false }): void {
  if (reported.has(result)) return;
  reported.add(result);
  createLogger('error').error('refusing to serve: configuration is invalid', {
    problems: result.problems,
  });
}

export type FetchHandler = (request: Request, env: Env, ctx: ExecutionContext) => Promise<Response>;

/**
 * The Worker's fetch: assigns the request id, opens the request scope, and strips BASE_PATH so the
 * service can share an origin with the application (`example.com/auth/*`).
 */
export function createFetchHandler(options: AppOptions = {}): FetchHandler {
  const app = createApp(options);
  return async (request, env, ctx) => {
    const incoming = request.headers.get('X-Request-Id');
    const requestId =
      incoming !== null && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const url = new URL(request.url);
    const path = url.pathname;
    const config = loadConfig(env);
    const basePath = config.ok ? config.config.basePath : '';
    let routed = path;
    if (basePath !== '') {
      const inside = path === basePath || path.startsWith(`${basePath}/`);
      // Outside the base path nothing matches: a route name that cannot exist gives the 404.
      routed = inside ? path.slice(basePath.length) || '/' : '/\0outside-base-path';
    }
    const prefixed = TENANT_PREFIX.exec(routed);
    // A slug that does not decode is refused inside the app, by the URL rule, as a JSON 400.
    const tenantSlug = prefixed === null ? undefined : decodeOrRaw(prefixed[1]!);
    if (prefixed !== null) routed = prefixed[2] || '/';
    if (routed !== path) {
      url.pathname = routed;
      request = new Request(url, request);
    }
    return runInRequestScope({ requestId, path, tenantSlug, databaseWaitMs: 0 }, () =>
      app.fetch(request, env, ctx),
    );
  };
}
