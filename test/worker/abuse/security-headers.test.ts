// Issue 5, item 5: security headers on every response (JSON, errors, refusals), HSTS only in
// production, and for HTML pages a Content-Security-Policy with no inline script.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../../../src/app-env.ts';
import { cryptoRandom, type Deps } from '../../../src/deps.ts';
import { allowInPage, cspNonce, securityHeaders } from '../../../src/http/security-headers.ts';
import { makeTenant } from '../fixtures.ts';
import { jsonRequest, send, type TestEnv } from '../harness.ts';

/** 32 bytes, base64: accepted by the production checks (see foundation/config.test.ts). */
const PRODUCTION: Partial<TestEnv> = {
  ENVIRONMENT: 'production',
  PUBLIC_BASE_URL: 'https://auth.example.com',
  SECRET_KEY: 'cHJvZHVjdGlvbi10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=',
  DATABASE_URL: 'postgres://gatehouse:unused@db.example.com/gatehouse?sslmode=require',
  UPSTASH_REDIS_REST_URL: 'https://redis.example.com',
  UPSTASH_REDIS_REST_TOKEN: 'unused',
  COOKIE_SECURE: 'true',
  BACKUP_PASSPHRASE: 'production test backup passphrase',
  SMTP_URL: 'smtps://mailer:unused@smtp.example.com',
  DEV_NEON_HTTP_ENDPOINT: undefined,
  DEV_NEON_WS_PROXY: undefined,
  DEV_SOCIAL_BASE_URL: undefined,
};

function expectCommonHeaders(response: Response): void {
  expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
  expect(response.headers.get('Referrer-Policy')).toBe('no-referrer');
  expect(response.headers.get('X-Frame-Options')).toBe('DENY');
  const csp = response.headers.get('Content-Security-Policy') ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("default-src 'none'");
}

describe('security headers', () => {
  it('are on a JSON answer, without HSTS outside production', async () => {
    const sent = await send('/health');
    expect(sent.response.status).toBe(200);
    expectCommonHeaders(sent.response);
    expect(sent.response.headers.get('Strict-Transport-Security')).toBeNull();
  });

  it('are on error answers (404, 401) too', async () => {
    const tenant = await makeTenant();
    const missing = await send('/no-such-route');
    expect(missing.response.status).toBe(404);
    expectCommonHeaders(missing.response);
    const unauthorized = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email: 'nobody@example.com', password: 'whatever-it-is' }),
    );
    expect(unauthorized.response.status).toBe(401);
    expectCommonHeaders(unauthorized.response);
  });

  it('add HSTS in production, also on a refusal (503 misconfigured)', async () => {
    const ok = await send('/health', {}, { env: PRODUCTION });
    expect(ok.response.status).toBe(200);
    expectCommonHeaders(ok.response);
    expect(ok.response.headers.get('Strict-Transport-Security')).toBe(
      'max-age=63072000; includeSubDomains',
    );

    const refused = await send('/health', {}, { env: { ...PRODUCTION, COOKIE_SECURE: 'false' } });
    expect(refused.response.status).toBe(503);
    expectCommonHeaders(refused.response);
    expect(refused.response.headers.get('Strict-Transport-Security')).toBe(
      'max-age=63072000; includeSubDomains',
    );
  });
});

describe('the /docs page', () => {
  it('is served under the page CSP: same-origin script only, nothing inline', async () => {
    const sent = await send('/docs');
    expect(sent.response.status).toBe(200);
    expect(sent.response.headers.get('Content-Type')).toMatch(/^text\/html/);
    expectCommonHeaders(sent.response);
    const csp = sent.response.headers.get('Content-Security-Policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await sent.response.text()).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  });
});

describe('HTML pages', () => {
  // A page as the /docs page will serve one, behind the same middleware.
  function pageApp(): Hono<AppEnv> {
    const app = new Hono<AppEnv>();
    app.use(securityHeaders);
    app.use(async (c, next) => {
      c.set('deps', { random: cryptoRandom } as Deps);
      await next();
    });
    app.get('/plain', (c) => c.html('<!doctype html><p>hello</p>'));
    app.get('/docs', (c) => {
      const nonce = cspNonce(c);
      allowInPage(c, 'script-src', 'https://cdn.example.com');
      return c.html(
        `<!doctype html><script nonce="${nonce}" src="https://cdn.example.com/ui.js"></script>`,
      );
    });
    return app;
  }

  function directives(csp: string): Map<string, string[]> {
    return new Map(
      csp.split(';').map((part) => {
        const [name, ...sources] = part.trim().split(/\s+/);
        return [name!, sources];
      }),
    );
  }

  it('get a CSP that allows no inline script and no eval', async () => {
    const response = await pageApp().request('/plain', {}, { ENVIRONMENT: 'test' });
    const csp = response.headers.get('Content-Security-Policy') ?? '';
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    const parsed = directives(csp);
    expect(parsed.get('script-src')).toEqual(["'self'"]);
    expect(parsed.get('default-src')).toEqual(["'none'"]);
    expect(parsed.get('frame-ancestors')).toEqual(["'none'"]);
    expect(parsed.get('base-uri')).toEqual(["'none'"]);
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
  });

  it('carry the nonce the page used, new per response, and the sources it was granted', async () => {
    const app = pageApp();
    const first = await app.request('/docs', {}, { ENVIRONMENT: 'test' });
    const second = await app.request('/docs', {}, { ENVIRONMENT: 'test' });
    const nonceOf = async (response: Response): Promise<string> =>
      /nonce="([^"]+)"/.exec(await response.text())![1]!;
    const nonce = await nonceOf(first);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await nonceOf(second)).not.toBe(nonce);
    const scriptSrc = directives(first.headers.get('Content-Security-Policy') ?? '').get(
      'script-src',
    );
    expect(scriptSrc).toEqual(["'self'", 'https://cdn.example.com', `'nonce-${nonce}'`]);
  });

  it('refuse a grant that would allow inline script', async () => {
    const app = new Hono<AppEnv>();
    app.use(securityHeaders);
    app.get('/bad', (c) => {
      allowInPage(c, 'script-src', "'unsafe-inline'");
      return c.html('<p>never</p>');
    });
    app.onError((error, c) => c.text(error.message, 500));
    const response = await app.request('/bad', {}, { ENVIRONMENT: 'test' });
    expect(response.status).toBe(500);
    expect(await response.text()).toContain("'unsafe-inline' is not allowed");
  });
});
