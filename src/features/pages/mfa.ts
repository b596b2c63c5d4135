import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../errors.ts';
import { clientInfo } from '../../http/client.ts';
import { credentialTimingFloor } from '../../http/timing-floor.ts';
import type { SecondFactorRequired } from '../mfa/login-gate.ts';
import { mfaChallengeBody } from '../mfa/routes.ts';
import { completeMfaChallenge } from '../mfa/service.ts';
import type { Tenant } from '../tenants/context.ts';
import { clearFlowCookie, readFlowCookie, setFlowCookie } from './flow-cookie.ts';
import {
  describeAppError,
  loadPageTenant,
  nextURL,
  readPagePost,
  signedInRedirect,
} from './form.ts';
import {
  field,
  hiddenFields,
  pageLink,
  pagePrefix,
  renderPage,
  type FieldError,
} from './layout.ts';
import { safeReturnTo } from './return-to.ts';

export const mfaPages = new Hono<AppEnv>();

const TOKEN = /^[A-Za-z0-9_-]{20,200}$/;

/** The MFA cookie: the token, then whether to offer a passkey (only the button depends on it). */
function readMfaCookie(c: Context<AppEnv>): { token: string; passkey: boolean } | null {
  const [token, flags] = (readFlowCookie(c, 'mfa') ?? '').split('.');
  if (token === undefined || !TOKEN.test(token)) return null;
  return { token, passkey: flags === 'p' };
}

/**
 * After a right password with a second factor due: the MFA token goes into a short-lived
 * HttpOnly cookie (never the URL), and the browser to /mfa. A tenant that requires enrolment
 * first gets a page saying so: enrolling happens in the application, signed in.
 */
export async function startMfaStep(
  c: Context<AppEnv>,
  answer: SecondFactorRequired,
  returnTo: string | null,
): Promise<Response> {
  if (answer.enrollment_required === true) {
    return renderPage(c, c.var.tenantScope.tenant, {
      title: 'Two-step verification required',
      status: 403,
      body: html`<p>
        Your account must have two-step verification before you can sign in here. Set it up in the
        application, then sign in again.
      </p>`,
    });
  }
  const seconds = (Date.parse(answer.expires_at) - c.var.deps.clock.now().getTime()) / 1000;
  const flags = answer.methods.includes('passkey') ? 'p' : '-';
  setFlowCookie(c, 'mfa', `${answer.mfa_token}.${flags}`, seconds);
  return c.redirect(pageLink(c, '/mfa', returnTo), 303);
}

function renderMfa(
  c: Context<AppEnv>,
  tenant: Tenant,
  state: { returnTo: string | null; passkey: boolean; errors: FieldError[] },
  status: 200 | 400 | 401 | 429 = 200,
): Promise<Response> {
  const prefix = pagePrefix(c);
  const { returnTo, errors } = state;
  return renderPage(c, tenant, {
    title: 'Two-step verification',
    status,
    errors,
    script: state.passkey,
    body: html`<form method="post" action="${prefix}/mfa" novalidate>
        ${hiddenFields(c, returnTo)}
        ${field({ name: 'code', label: 'Verification code', hint: 'The 6-digit code from your authenticator app, or one of your recovery codes.', autocomplete: 'one-time-code', inputmode: 'text' }, errors)}
        <div class="actions"><button type="submit">Continue</button></div>
      </form>
      ${
        state.passkey
          ? html`<div class="actions">
                <button
                  type="button"
                  class="secondary"
                  hidden
                  data-passkey-signin
                  data-api="${prefix}/v1/auth/passkeys"
                  data-next="${nextURL(prefix, returnTo)}"
                  data-status="passkey-status"
                >
                  Use a passkey instead
                </button>
              </div>
              <p class="status" id="passkey-status" role="status"></p>`
          : ''
      }
      <ul class="links">
        <li><a href="${pageLink(c, '/login', returnTo)}">Start again</a></li>
      </ul>`,
  });
}

mfaPages.get('/mfa', async (c) => {
  const returnTo = safeReturnTo(c.req.query('return_to'));
  const cookie = readMfaCookie(c);
  if (cookie === null) return c.redirect(pageLink(c, '/login', returnTo), 303);
  const loaded = await loadPageTenant(c);
  if ('missing' in loaded) return loaded.missing;
  return renderMfa(c, loaded.tenant, { returnTo, passkey: cookie.passkey, errors: [] });
});

mfaPages.post('/mfa', credentialTimingFloor, async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const { form, returnTo } = read.post;
  const { deps, tenantScope } = c.var;
  const cookie = readMfaCookie(c);
  if (cookie === null) return c.redirect(pageLink(c, '/login', returnTo), 303);
  const parsed = mfaChallengeBody.safeParse({ mfa_token: cookie.token, code: form.code });
  const state = { returnTo, passkey: cookie.passkey };
  if (!parsed.success) {
    const loaded = await loadPageTenant(c);
    if ('missing' in loaded) return loaded.missing;
    const errors = [{ field: 'code', message: 'Enter the code.' }];
    return renderMfa(c, loaded.tenant, { ...state, errors }, 400);
  }
  try {
    const signedIn = await completeMfaChallenge(deps, tenantScope, parsed.data, clientInfo(c));
    clearFlowCookie(c, 'mfa');
    return signedInRedirect(c, signedIn, returnTo);
  } catch (error) {
    const tenant = tenantScope.tenant;
    if (!(error instanceof AppError) || tenant === null) throw error;
    if (error.code === 'invalid_mfa_token') {
      // Expired or used: the password step must be done again.
      clearFlowCookie(c, 'mfa');
      return c.redirect(pageLink(c, '/login', returnTo), 303);
    }
    const status = error.code === 'rate_limited' || error.code === 'factor_locked' ? 429 : 401;
    const errors = [{ field: 'code', message: describeAppError(error) }];
    return renderMfa(c, tenant, { ...state, errors }, status);
  }
});

/**
 * The passkey button's hand-off when a passkey without user verification needs a second factor:
 * the script posts the MFA token here (a CSRF-checked form), which keeps it in the cookie.
 */
mfaPages.post('/mfa/start', async (c) => {
  const read = await readPagePost(c);
  if ('refused' in read) return read.refused;
  const { form, returnTo } = read.post;
  const token = form.mfa_token ?? '';
  if (!TOKEN.test(token)) return c.redirect(pageLink(c, '/login', returnTo), 303);
  setFlowCookie(c, 'mfa', `${token}.-`, 300);
  return c.redirect(pageLink(c, '/mfa', returnTo), 303);
});
