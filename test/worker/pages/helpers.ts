// Shared steps of the hosted-page tests: open a page like a browser (cookies kept), read its
// CSRF token, and post its form as application/x-www-form-urlencoded with a same-origin Origin.
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { CookieJar } from '../fixtures.ts';
import { testDB, type TestTenant } from '../fixtures.ts';
import { send, type SendOptions, type Sent } from '../harness.ts';

export const ORIGIN = 'https://gatehouse.test';

export interface OpenedPage {
  sent: Sent;
  html: string;
  csrf: string;
}

export async function openPage(
  path: string,
  jar: CookieJar,
  options: SendOptions = {},
): Promise<OpenedPage> {
  const sent = await send(path, { headers: jar.header() }, options);
  jar.store(sent.response);
  const html = await sent.response.text();
  const match = /name="csrf_token" value="([A-Za-z0-9_-]+)"/.exec(html);
  return { sent, html, csrf: match?.[1] ?? '' };
}

export function submit(
  path: string,
  fields: Record<string, string>,
  jar: CookieJar,
  options: SendOptions & { origin?: string | null } = {},
): Promise<Sent> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    ...jar.header(),
  };
  if (options.origin !== null) headers.Origin = options.origin ?? ORIGIN;
  return send(
    path,
    { method: 'POST', body: new URLSearchParams(fields).toString(), headers, redirect: 'manual' },
    options,
  );
}

/** The amr of the user's newest session. */
export async function latestAmr(tenantId: string, email: string): Promise<string[]> {
  const result = await testDB().execute(sql`
    select s.amr::text as amr from sessions s join users u on u.id = s.user_id
    where s.tenant_id = ${tenantId}::uuid and u.email_normalized = ${email.toLowerCase()}
    order by s.created_at desc limit 1`);
  const text = String(result.rows[0]?.amr ?? '{}');
  return text
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter((v) => v !== '');
}

/** An authorize URL as the protocol builds return_to (relative to the issuer). */
export function authorizeReturnTo(params: Record<string, string> = {}): string {
  return `/oauth2/authorize?${new URLSearchParams({
    client_id: 'app',
    response_type: 'code',
    scope: 'openid email',
    redirect_uri: 'https://app.example.com/cb',
    ...params,
  }).toString()}`;
}

export function expectSessionCookie(response: Response, tenant: TestTenant): void {
  const cookie = response.headers
    .getSetCookie()
    .find((line) => line.includes(`gatehouse_${tenant.slug.replace(/-/g, '_')}=`));
  expect(cookie, 'the session cookie').toBeDefined();
  expect(cookie).toMatch(/HttpOnly/i);
}
