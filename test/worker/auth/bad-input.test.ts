import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';

let tenant: TestTenant;

beforeAll(async () => {
  tenant = await makeTenant({
    settings: {
      passwordPolicy: {
        minLength: 10,
        requireClasses: ['digit', 'uppercase'],
        rejectEmailLocalPart: true,
      },
    },
  });
});

async function usersInTenant(): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from users where tenant_id = ${tenant.id}::uuid`,
  );
  return Number(result.rows[0]?.n);
}

const register = (init: RequestInit) => send(`${tenant.base}/v1/auth/register`, init);

describe('bad input never reaches the database and never answers 500', () => {
  const email = uniqueEmail();
  const cases: [string, () => RequestInit, number, string][] = [
    [
      'malformed JSON',
      () => ({
        method: 'POST',
        body: '{"email": ',
        headers: { 'Content-Type': 'application/json' },
      }),
      400,
      'invalid_json',
    ],
    ['a JSON array', () => jsonRequest('POST', [email]), 400, 'invalid_request'],
    [
      'a wrong type',
      () => jsonRequest('POST', { email, password: 12345678901 }),
      400,
      'invalid_request',
    ],
    ['a missing field', () => jsonRequest('POST', { email }), 400, 'invalid_request'],
    [
      'an invalid email',
      () => jsonRequest('POST', { email: 'not-an-email', password: 'Password-12345' }),
      400,
      'invalid_request',
    ],
    [
      'a form body (CSRF simple request)',
      () => ({
        method: 'POST',
        body: `email=${email}&password=x`,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'unsupported_media_type',
    ],
    [
      'a text/plain body (CSRF simple request)',
      () => ({
        method: 'POST',
        body: JSON.stringify({ email, password: 'Correct-Horse-9' }),
        headers: { 'Content-Type': 'text/plain' },
      }),
      415,
      'unsupported_media_type',
    ],
    [
      'a body over 64 KiB',
      () =>
        jsonRequest('POST', { email, password: 'Correct-Horse-9', name: 'x'.repeat(70 * 1024) }),
      413,
      'payload_too_large',
    ],
  ];
  for (const [name, init, status, code] of cases) {
    it(`answers ${status} ${code} for ${name}`, async () => {
      const before = await usersInTenant();
      const sent = await register(init());
      expect(sent.response.status).toBe(status);
      expect(await sent.json()).toMatchObject({
        error: code,
        error_description: expect.any(String),
      });
      expect(await usersInTenant()).toBe(before);
    });
  }

  it('answers 404 unknown_tenant for a tenant that does not exist, and 404 for a bad slug', async () => {
    const unknown = await send('/t/no-such-tenant-here/v1/auth/session');
    expect(unknown.response.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'unknown_tenant' });
    const bad = await send('/t/Not_A_Slug!/v1/auth/session');
    expect(bad.response.status).toBe(404);
  });

  it('answers 404 not_found for an unknown route', async () => {
    const sent = await send(`${tenant.base}/v1/auth/nothing-here`);
    expect(sent.response.status).toBe(404);
    expect(await sent.json()).toMatchObject({ error: 'not_found' });
  });
});

describe('password policy', () => {
  const rules: [string, string, string][] = [
    ['too short (after NFKC)', 'Abc1', 'password_too_short'],
    ['too long', `A1${'x'.repeat(127)}`, 'password_too_long'],
    ['among the most common (case-insensitively)', 'QwertyUiop', 'password_too_common'],
    ['without a digit', 'Abcdefghijkl', 'password_missing_digit'],
    ['without an upper-case letter', 'abcdefghijk1', 'password_missing_uppercase'],
  ];
  for (const [name, password, code] of rules) {
    it(`refuses a password ${name} with ${code}`, async () => {
      const before = await usersInTenant();
      const sent = await register(jsonRequest('POST', { email: uniqueEmail(), password }));
      expect(sent.response.status).toBe(400);
      expect(await sent.json()).toMatchObject({ error: code });
      expect(await usersInTenant()).toBe(before);
    });
  }

  it('refuses a password containing the email local part', async () => {
    const stamp = Date.now(); // once: two readings may differ by a millisecond
    const email = `zebracorn${stamp}@example.com`;
    const sent = await register(
      jsonRequest('POST', { email, password: `My-ZEBRACORN${stamp}-pw` }),
    );
    expect(await sent.json()).toMatchObject({ error: 'password_contains_email' });
  });

  it('counts length after NFKC normalisation (ﬁ is two characters)', async () => {
    // "ﬁ" (U+FB01) normalises to "fi": nine code points become ten, meeting the minimum.
    const sent = await register(
      jsonRequest('POST', { email: uniqueEmail(), password: 'ﬁ2345678X' }),
    );
    expect(sent.response.status).toBe(201);
  });

  it('is closed when the tenant turns registration off', async () => {
    const closed = await makeTenant({ settings: { registrationEnabled: false } });
    const sent = await send(
      `${closed.base}/v1/auth/register`,
      jsonRequest('POST', { email: uniqueEmail(), password: 'correct horse battery' }),
    );
    expect(sent.response.status).toBe(403);
    expect(await sent.json()).toMatchObject({ error: 'registration_closed' });
  });
});
