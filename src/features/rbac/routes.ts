import { Hono } from 'hono';
import type { RouteDoc } from '../../http/openapi.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { attributeDocs } from './attributes-docs.ts';
import { attributeRoutes } from './attributes-routes.ts';
import { groupDocs } from './groups-docs.ts';
import { groupRoutes } from './groups-routes.ts';
import { organizationDocs } from './organizations-docs.ts';
import { organizationRoutes } from './organizations-routes.ts';
import { roleDocs } from './roles-docs.ts';
import { roleRoutes } from './roles-routes.ts';

/**
 * Roles, groups, user attributes, claim mappers and organizations of a tenant, under
 * /admin/api/v1/tenants/:slug/…. Mounted after `adminAuth` and the tenant-binding guard; each
 * route names its scope: users:read / users:write, and tenants:read / tenants:write for claim
 * mappers (they change what every token of the tenant carries).
 */
export const rbacRoutes = new Hono<AdminEnv>();
rbacRoutes.route('/', roleRoutes);
rbacRoutes.route('/', groupRoutes);
rbacRoutes.route('/', attributeRoutes);
rbacRoutes.route('/', organizationRoutes);

/** The OpenAPI entries of every route above (full paths), built from the handlers' schemas. */
export const rbacDocs: RouteDoc[] = [
  ...roleDocs,
  ...groupDocs,
  ...attributeDocs,
  ...organizationDocs,
];
