import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { consentPages } from './consent.ts';
import { emailCodePages } from './email-code.ts';
import { emailPages } from './email-pages.ts';
import { loginPages } from './login.ts';
import { mfaPages } from './mfa.ts';
import { miscPages } from './misc.ts';
import { registerPages } from './register.ts';

/**
 * The hosted sign-in pages of one tenant (issue 13): server-rendered forms that work without
 * JavaScript, calling the same services as the JSON API ("one implementation, two front doors"),
 * so rate limits, lockout, audit and the timing floor apply alike. Mounted on the tenant router.
 */
export const pageRoutes = new Hono<AppEnv>();

pageRoutes.route('/', loginPages);
pageRoutes.route('/', mfaPages);
pageRoutes.route('/', registerPages);
pageRoutes.route('/', consentPages);
pageRoutes.route('/', emailPages);
pageRoutes.route('/', emailCodePages);
pageRoutes.route('/', miscPages);
