import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { enforce } from '../ratelimit/enforce.ts';
import { ADMIN_WRITE_PER_KEY } from '../ratelimit/policies.ts';
import { authenticateAPIKey } from '../apikeys/service.ts';
import { SCOPES, type Scope } from '../apikeys/scopes.ts';
import { readOperatorCookie } from '../operators/cookie.ts';
import type { OperatorRole } from '../operators/schema.ts';
import { authenticateOperator, type AuthenticatedOperator } from '../operators/service.ts';

/** Who is calling the admin API. Operator sessions hold every scope and see every tenant. */
export interface AdminPrincipal {
  kind: 'operator' | 'api_key';
  /** The operator's or the API key's id. */
  id: string;
  scopes: readonly Scope[];
  /** Set for a key bound to one tenant: it sees that tenant only. */
  tenantId: string | null;
  tenantSlug: string | null;
  /** Present for operator sessions only. */
  operator: (AuthenticatedOperator & { role: OperatorRole }) | null;
}

/** Hono env of every authenticated admin router: `c.var.admin` is set. */
export interface AdminEnv extends AppEnv {
  Variables: AppEnv['Variables'] & { admin: AdminPrincipal };
}

const BEARER = /^Bearer[ ]+(\S+)$/i;
const READ_METHODS = ['GET', 'HEAD', 'OPTIONS'];

/**
 * Authenticates `Authorization: Bearer <API key>` or the operator session cookie (one round trip
 * either way). Cookie-authenticated writes must come from our own origin or name none (CSRF): a
 * browser names the page's origin on every non-GET request. Every write is charged to the
 * caller's `admin.write` budget (per key, or per operator) before the route runs.
 */
export const adminAuth = createMiddleware<AdminEnv>(async (c, next) => {
  const { deps } = c.var;
  const authorization = c.req.header('Authorization');
  if (authorization !== undefined) {
    const match = BEARER.exec(authorization);
    if (match === null)
      throw new AppError('invalid_token', 'expected Authorization: Bearer <API key>');
    const key = await authenticateAPIKey(deps, match[1]!);
    c.set('admin', {
      kind: 'api_key',
      id: key.id,
      scopes: key.scopes,
      tenantId: key.tenantId,
      tenantSlug: key.tenantSlug,
      operator: null,
    });
  } else {
    const auth = await authenticateOperator(deps, readOperatorCookie(c, deps.config));
    if (!READ_METHODS.includes(c.req.method))
      assertSameOrigin(c.req.header('Origin'), c.req.url, deps.config.publicBaseURL);
    c.set('admin', {
      kind: 'operator',
      id: auth.operator.id,
      scopes: SCOPES,
      tenantId: null,
      tenantSlug: null,
      operator: { ...auth, role: auth.operator.role },
    });
  }
  if (!READ_METHODS.includes(c.req.method)) {
    const admin = c.var.admin;
    await enforce(deps, ADMIN_WRITE_PER_KEY.name, `${admin.kind}:${admin.id}`, {
      client: clientInfo(c),
      actor: { type: admin.kind, id: admin.id },
    });
  }
  await next();
});

function assertSameOrigin(
  origin: string | undefined,
  requestURL: string,
  publicBaseURL: URL,
): void {
  if (origin === undefined) return;
  if (origin === new URL(requestURL).origin || origin === publicBaseURL.origin) return;
  throw new AppError('origin_not_allowed', 'operator sessions act only from this origin');
}

export function assertScope(admin: AdminPrincipal, scope: Scope): void {
  if (!admin.scopes.includes(scope)) {
    throw new AppError('insufficient_scope', `this needs the ${scope} scope`, { extra: { scope } });
  }
}

/** Route guard: 403 insufficient_scope unless the caller holds `scope`. No I/O. */
export function requireScope(scope: Scope) {
  return createMiddleware<AdminEnv>(async (c, next) => {
    assertScope(c.var.admin, scope);
    await next();
  });
}

/**
 * A key bound to one tenant gets the same 404 for every other tenant as for one that does not
 * exist, so it cannot even learn which slugs exist. No I/O: the binding came with the key.
 */
export function assertTenantAccess(admin: AdminPrincipal, slug: string): void {
  if (admin.tenantSlug !== null && admin.tenantSlug !== slug) {
    throw new AppError('unknown_tenant', 'no such tenant');
  }
}

/** Middleware for `/tenants/:slug/*`: applies assertTenantAccess to the path's slug. */
export const tenantAccess = createMiddleware<AdminEnv>(async (c, next) => {
  const slug = c.req.param('slug');
  if (slug !== undefined) assertTenantAccess(c.var.admin, slug);
  await next();
});

/** Only operators (not API keys) may manage operators, sessions and keys. */
export function requireOperator(options: { role?: OperatorRole } = {}) {
  return createMiddleware<AdminEnv>(async (c, next) => {
    const operator = c.var.admin.operator;
    if (operator === null)
      throw new AppError('forbidden', 'this needs an operator session, not an API key');
    if (options.role !== undefined && operator.role !== options.role) {
      throw new AppError('forbidden', `this needs the ${options.role} role`);
    }
    await next();
  });
}

/** The operator behind the request; call after requireOperator. */
export function operatorOf(admin: AdminPrincipal): AuthenticatedOperator & { role: OperatorRole } {
  if (admin.operator === null)
    throw new AppError('forbidden', 'this needs an operator session, not an API key');
  return admin.operator;
}
