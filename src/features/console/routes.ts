// The admin console at {BASE_PATH}/admin/: server-rendered pages over the admin API's services,
// for operators signed in with the operator cookie. Plain forms, POST → 303 → GET; no JavaScript.
import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { consoleAPIKeyRoutes } from './apikeys.ts';
import { consoleAuditRoutes } from './audit.ts';
import { consoleAuth, consoleLogoutRoutes, consoleSessionRoutes } from './auth.ts';
import { consoleBackupRoutes } from './backups.ts';
import { consoleBase } from './layout.ts';
import { consoleMetricsRoutes } from './metrics.ts';
import { consoleTenantSettingsRoutes } from './tenant-settings.ts';
import { consoleTenantRoutes } from './tenants.ts';
import { consoleOneUserRoutes } from './user.ts';
import { consoleUserRoutes } from './users.ts';

export const consoleRoutes = new Hono<AppEnv>();

// Sign-in and first run answer without a session; everything after needs one.
consoleRoutes.route('/', consoleSessionRoutes);

const signedIn = new Hono<AdminEnv>();
signedIn.use(consoleAuth);
signedIn.route('/', consoleLogoutRoutes);
signedIn.route('/', consoleTenantRoutes);
signedIn.route('/', consoleTenantSettingsRoutes);
signedIn.route('/', consoleUserRoutes);
signedIn.route('/', consoleOneUserRoutes);
signedIn.route('/', consoleAuditRoutes);
signedIn.route('/', consoleBackupRoutes);
signedIn.route('/', consoleAPIKeyRoutes);
signedIn.route('/', consoleMetricsRoutes);
consoleRoutes.route('/', signedIn);

/**
 * `/admin/` and `/admin` (the URL `npm run dev` prints): to the tenants, which send a browser
 * without a session on to sign-in. Mounted at the app's root: a sub-router cannot match both.
 */
export const consoleIndexRoutes = new Hono<AppEnv>();
for (const path of ['/admin', '/admin/'])
  consoleIndexRoutes.get(path, (c) => c.redirect(`${consoleBase(c)}/tenants`, 303));
