// The hosted /login page: a labelled form under the page CSP, the CSRF double-submit and Origin
// checks (a refused form writes nothing), 303 back into authorize with the same session cookie
// the JSON API sets, open-redirect attempts dropped, login_hint prefill, and the MFA step.
import { beforeAll, describe, expect, it } from 'vitest';
import { safeReturnTo } from '../../../src/features/pages/return-to.ts';
import { CookieJar, makeTenant, type TestTenant } from '../fixtures.ts';
import { send } from '../harness.ts';
import {
  ManualClock,
  PASSWORD,
  withClock,
  auditTypes,
  codeAt,
  enableTOTP,
  registerUser,
  sessionCount,
} from '../mfa/helpers.ts';
import { authorizeReturnTo, expectSessionCookie, latestAmr, openPage, submit } from './helpers.ts';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await makeTenant({ name: 'Acme' });
  await send(`${tenant.base}/v1/auth/session`);
});

describe('GET /login', () => {
  it('renders a labelled, CSRF-protected form under the page CSP in one round trip', async () => {
    const jar = new CookieJar();
    const page = await openPage(`${tenant.base}/login`, jar);
    const res = page.sent.response;
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const csp = res.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(page.html).toMatch(/<html lang="en">/);
    expect(page.html).toContain('<main id="main"');
    expect(page.html).toContain('<label for="email">');
    expect(page.html).toContain('<label for="password">');
    expect(page.html).not.toMatch(/<script>|<style|style=/);
    expect(page.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const csrfCookie = res.headers
      .getSetCookie()
      .find((l) => l.startsWith('__Host-gatehouse_csrf='));
    expect(csrfCookie).toMatch(/HttpOnly/i);
    expect(csrfCookie).toMatch(/SameSite=Lax/i);
    expect(csrfCookie).toMatch(/Path=\//);
    expect(await page.sent.roundTrips()).toBeLessThanOrEqual(1);

    // The hashed assets it links are served same-origin with a year's immutable cache.
    const css = /href="(\/assets\/pages\.[0-9a-f]{16}\.css)"/.exec(page.html)![1]!;
    const js = /src="(\/assets\/pages\.[0-9a-f]{16}\.js)"/.exec(page.html)![1]!;
    for (const path of [css, js]) {
      const asset = await send(path);
      expect(asset.response.status).toBe(200);
      expect(asset.response.headers.get('Cache-Control')).toBe(
        'public, max-age=31536000, immutable',
      );
      expect(await asset.roundTrips()).toBe(0);
    }
    expect((await send('/assets/pages.0000000000000000.css')).response.status).toBe(404);
  });

  it('prefills the email from the login_hint inside return_to, escaped', async () => {
    const returnTo = authorizeReturnTo({ login_hint: 'a"b@example.com' });
    const page = await openPage(
      `${tenant.base}/login?return_to=${encodeURIComponent(returnTo)}`,
      new CookieJar(),
    );
    expect(page.html).toContain('value="a&quot;b@example.com"');
    expect(page.html).toContain(`name="return_to" value="${returnTo.replace(/&/g, '&amp;')}"`);
  });
});

describe('POST /login', () => {
  it('signs in and 303s to return_to with the session cookie; the session records amr pwd', async () => {
    const user = await registerUser(tenant);
    const jar = new CookieJar();
    const returnTo = authorizeReturnTo({ state: 'xyz' });
    const page = await openPage(
      `${tenant.base}/login?return_to=${encodeURIComponent(returnTo)}`,
      jar,
    );
    const sent = await submit(
      `${tenant.base}/login`,
      { csrf_token: page.csrf, return_to: returnTo, email: user.email, password: PASSWORD },
      jar,
    );
    expect(sent.response.status).toBe(303);
    expect(sent.response.headers.get('Location')).toBe(`${tenant.base}${returnTo}`);
    expectSessionCookie(sent.response, tenant);
    expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
    expect(await latestAmr(tenant.id, user.email)).toEqual(['pwd']);
    jar.store(sent.response);
    const session = await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(session.response.status).toBe(200);
  });

  it('answers a wrong password with the form again: 401, an announced error on the field', async () => {
    const user = await registerUser(tenant);
    const jar = new CookieJar();
    const page = await openPage(`${tenant.base}/login`, jar);
    const before = await sessionCount(tenant.id, user.email);
    const sent = await submit(
      `${tenant.base}/login`,
      { csrf_token: page.csrf, email: user.email, password: 'wrong password!' },
      jar,
    );
    expect(sent.response.status).toBe(401);
    const html = await sent.response.text();
    expect(html).toContain('role="alert"');
    expect(html).toContain('aria-describedby="password-error"');
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain(`value="${user.email}"`);
    expect(await sessionCount(tenant.id, user.email)).toBe(before);
  });

  it('refuses a missing or wrong CSRF token and a foreign Origin with 403, writing nothing', async () => {
    const user = await registerUser(tenant);
    const jar = new CookieJar();
    const page = await openPage(`${tenant.base}/login`, jar);
    const sessions = await sessionCount(tenant.id, user.email);
    const failures = await auditTypes(tenant.id, 'security.login.failed');
    const fields = { email: user.email, password: PASSWORD };
    const attempts = [
      submit(`${tenant.base}/login`, fields, jar),
      submit(`${tenant.base}/login`, { ...fields, csrf_token: 'A'.repeat(43) }, jar),
      submit(`${tenant.base}/login`, { ...fields, csrf_token: page.csrf }, new CookieJar()),
      submit(`${tenant.base}/login`, { ...fields, csrf_token: page.csrf }, jar, {
        origin: 'https://evil.example',
      }),
      submit(`${tenant.base}/login`, { ...fields, csrf_token: page.csrf }, jar, { origin: 'null' }),
    ];
    for (const sent of await Promise.all(attempts)) {
      expect(sent.response.status).toBe(403);
      expect(sent.response.headers.get('Content-Type')).toMatch(/^text\/html/);
      expect(sent.response.headers.getSetCookie().join()).not.toContain('gatehouse_t');
    }
    expect(await sessionCount(tenant.id, user.email)).toBe(sessions);
    expect(await auditTypes(tenant.id, 'security.login.failed')).toBe(failures);

    // Without an Origin header (an old browser) the token alone suffices.
    const ok = await submit(`${tenant.base}/login`, { ...fields, csrf_token: page.csrf }, jar, {
      origin: null,
    });
    expect(ok.response.status).toBe(303);
  });

  it('ignores a return_to that is not this tenant’s authorize endpoint', async () => {
    const user = await registerUser(tenant);
    for (const bad of [
      '//evil.example/oauth2/authorize?x=1',
      'https://evil.example/oauth2/authorize?x=1',
      '/oauth2/authorize/../x',
      '/oauth2/authorize/../../evil?x',
      '/oauth2/authorize?x=1#frag',
      '/\\evil.example',
      '/oauth2/authorizex?y',
    ]) {
      expect(safeReturnTo(bad), bad).toBeNull();
      const jar = new CookieJar();
      const page = await openPage(`${tenant.base}/login?return_to=${encodeURIComponent(bad)}`, jar);
      expect(page.html).not.toContain('name="return_to"');
      const sent = await submit(
        `${tenant.base}/login`,
        { csrf_token: page.csrf, return_to: bad, email: user.email, password: PASSWORD },
        jar,
      );
      expect(sent.response.status).toBe(303);
      expect(sent.response.headers.get('Location')).toBe(`${tenant.base}/signed-in`);
    }
    expect(safeReturnTo(authorizeReturnTo())).toBe(authorizeReturnTo());
  });
});

describe('the MFA step', () => {
  it('keeps the MFA token in an HttpOnly cookie, then signs in with a TOTP code (amr pwd otp mfa)', async () => {
    const user = await registerUser(tenant);
    const clock = new ManualClock(new Date());
    const { secret } = await enableTOTP(tenant, user, clock);
    clock.advance(30); // the enrolment used the current step
    const jar = new CookieJar();
    const returnTo = authorizeReturnTo();
    const page = await openPage(
      `${tenant.base}/login?return_to=${encodeURIComponent(returnTo)}`,
      jar,
    );
    const first = await submit(
      `${tenant.base}/login`,
      { csrf_token: page.csrf, return_to: returnTo, email: user.email, password: PASSWORD },
      jar,
    );
    expect(first.response.status).toBe(303);
    const location = first.response.headers.get('Location')!;
    expect(location).toBe(`${tenant.base}/mfa?return_to=${encodeURIComponent(returnTo)}`);
    const mfaCookie = first.response.headers
      .getSetCookie()
      .find((l) => l.includes('gatehouse_mfa='));
    expect(mfaCookie).toMatch(/HttpOnly/i);
    expect(mfaCookie).toMatch(/Max-Age=(2\d\d|300)/);
    jar.store(first.response);

    const mfa = await openPage(location, jar);
    expect(mfa.sent.response.status).toBe(200);
    expect(mfa.html).toContain('<label for="code">');
    const wrong = await submit(
      `${tenant.base}/mfa`,
      {
        csrf_token: mfa.csrf,
        return_to: returnTo,
        code: codeAt(secret, clock.now()) === '000000' ? '111111' : '000000',
      },
      jar,
    );
    expect(wrong.response.status).toBe(401);
    expect(await wrong.response.text()).toContain('role="alert"');

    const done = await submit(
      `${tenant.base}/mfa`,
      { csrf_token: mfa.csrf, return_to: returnTo, code: codeAt(secret, clock.now()) },
      jar,
      withClock(clock),
    );
    expect(done.response.status).toBe(303);
    expect(done.response.headers.get('Location')).toBe(`${tenant.base}${returnTo}`);
    expectSessionCookie(done.response, tenant);
    expect(await latestAmr(tenant.id, user.email)).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('sends /mfa without the cookie back to /login', async () => {
    const sent = await send(`${tenant.base}/mfa`, { redirect: 'manual' });
    expect(sent.response.status).toBe(303);
    expect(sent.response.headers.get('Location')).toBe(`${tenant.base}/login`);
  });
});

describe('branding', () => {
  it('serves the accent colour as a stylesheet and the logo as a data: image', async () => {
    const logo = 'data:image/png;base64,iVBORw0KGgo=';
    const branded = await makeTenant({
      settings: { branding: { display_name: 'Acme <Tools>', accent_color: '#112233', logo } },
    });
    const css = await send(`${branded.base}/branding.css`);
    expect(css.response.headers.get('Content-Type')).toMatch(/^text\/css/);
    expect(await css.response.text()).toBe(':root { --accent: #112233; }\n');
    const page = await openPage(`${branded.base}/login`, new CookieJar());
    expect(page.html).toMatch(
      /<img src="data:image\/png;base64,iVBORw0KGgo=" alt="Acme &lt;Tools&gt;"/,
    );
    expect(page.html).toContain(`href="${branded.base}/branding.css"`);
  });
});
