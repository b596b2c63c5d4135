import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { apiKeyRoutes } from '../apikeys/routes.ts';
import { operatorPublicRoutes, operatorRoutes } from '../operators/routes.ts';
import { adminAuth, tenantAccess, type AdminEnv } from './auth.ts';
import { backupRoutes } from '../backup/routes.ts';
import { tenantRoutes } from './tenants-routes.ts';
import { userRoutes } from './users-routes.ts';
import { rbacRoutes } from '../rbac/routes.ts';
import { auditRoutes } from '../audit/routes.ts';
import { mailRoutes } from '../mail/routes.ts';
import { clientRoutes } from '../clients/admin/routes.ts';
import { providerRoutes } from '../federation/admin-routes.ts';
import { metricsRoutes } from '../metrics/routes.ts';

/**
 * The admin API, mounted at /admin/api/v1. Order matters: the public routes answer before
 * `adminAuth` runs; everything registered after it needs an operator session or an API key, and
 * everything under /tenants/:slug passes the tenant binding of the caller's key first.
 */
export const adminRoutes = new Hono<AppEnv>();
adminRoutes.route('/', operatorPublicRoutes);

const authenticated = new Hono<AdminEnv>();
authenticated.use(adminAuth);
authenticated.use('/tenants/:slug', tenantAccess);
authenticated.use('/tenants/:slug/*', tenantAccess);
authenticated.route('/', operatorRoutes);
authenticated.route('/', apiKeyRoutes);
// Before tenantRoutes: POST /tenants/import must not be taken for a tenant slug.
authenticated.route('/', backupRoutes);
authenticated.route('/', tenantRoutes);
authenticated.route('/', userRoutes);
authenticated.route('/', rbacRoutes);
authenticated.route('/', auditRoutes);
authenticated.route('/', mailRoutes);
authenticated.route('/', clientRoutes);
authenticated.route('/', providerRoutes);
authenticated.route('/', metricsRoutes);
// Feature routers mount here (tenants, users, rbac: /tenants/:slug/...), before the catch-all.
authenticated.all('*', (c) => {
  throw new AppError('not_found', `no route for ${c.req.method} ${c.req.path}`);
});

adminRoutes.route('/', authenticated);
