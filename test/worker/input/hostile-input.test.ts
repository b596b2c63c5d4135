// Regressions for issue 11 ("Input"): text with control characters and undecodable path segments.
// Each case answered 500 (or 404, or 201 for the password) before the fix.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, countRows, makeKey, makeOperator } from '../admin/fixtures.ts';
import { makeTenant, uniqueEmail, uniqueSlug, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';

const ADMIN = '/admin/api/v1';
const PASSWORD = 'correct horse battery';

let tenant: TestTenant;
let auth: Record<string, string>;

beforeAll(async () => {
  // No response floor: these tests send credentials and should not sleep for them.
  tenant = await makeTenant({ settings: { credentialResponseFloorMs: 0 } });
  auth = bearer((await makeOperator().then((operator) => makeKey(operator))).key);
});

const usersOf = (t: TestTenant): Promise<number> =>
  countRows('users', sql`tenant_id = ${t.id}::uuid`);

async function expectRefused(
  sent: { response: Response; json(): Promise<Record<string, unknown>> },
  status: number,
  code: string,
): Promise<void> {
  expect(sent.response.status).toBe(status);
  const body = await sent.json();
  expect(body).toMatchObject({ error: code, error_description: expect.any(String) });
  expect(JSON.stringify(body)).not.toMatch(/\bat \S+:\d+|Error:/); // no stack, no internal message
}

describe('text with control characters is refused with 400 invalid_characters, nothing written', () => {
  const register = (body: Record<string, unknown>) =>
    send(`${tenant.base}/v1/auth/register`, jsonRequest('POST', body));

  for (const [field, value] of [
    ['name', 'Ada\u0000Lovelace'],
    ['organization_name', 'Acme\u0000Ltd'],
    ['name', 'bell\u0007'],
    ['name', 'lone \ud800 surrogate'],
  ] as const) {
    it(`register: ${JSON.stringify(value)} in ${field}`, async () => {
      const before = await usersOf(tenant);
      const sent = await register({ email: uniqueEmail(), password: PASSWORD, [field]: value });
      await expectRefused(sent, 400, 'invalid_characters');
      expect(await usersOf(tenant)).toBe(before);
    });
  }

  it('register: a NUL in the password', async () => {
    const before = await usersOf(tenant);
    const sent = await register({ email: uniqueEmail(), password: `${PASSWORD}\u0000x` });
    await expectRefused(sent, 400, 'invalid_characters');
    expect(await usersOf(tenant)).toBe(before);
  });

  it('register: a control character in an object key', async () => {
    const sent = await register({ email: uniqueEmail(), password: PASSWORD, 'x\u0001': 1 });
    await expectRefused(sent, 400, 'invalid_characters');
  });

  it('login: a NUL in the email', async () => {
    const sent = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email: 'a\u0000@example.com', password: PASSWORD }),
    );
    await expectRefused(sent, 400, 'invalid_characters');
  });

  it('admin: a NUL in a tenant name (create)', async () => {
    const slug = uniqueSlug();
    const sent = await send(
      `${ADMIN}/tenants`,
      jsonRequest('POST', { slug, name: 'Evil\u0000Corp' }, auth),
    );
    await expectRefused(sent, 400, 'invalid_characters');
    expect(await countRows('tenants', sql`slug = ${slug}`)).toBe(0);
  });

  it('admin: a NUL in a user name (create and update)', async () => {
    const before = await usersOf(tenant);
    const created = await send(
      `${ADMIN}/tenants/${tenant.slug}/users`,
      jsonRequest('POST', { email: uniqueEmail(), name: 'Bob\u0000' }, auth),
    );
    await expectRefused(created, 400, 'invalid_characters');
    expect(await usersOf(tenant)).toBe(before);
  });

  it('admin: a NUL in a query parameter (user search)', async () => {
    const sent = await send(`${ADMIN}/tenants/${tenant.slug}/users?search=a%00b`, {
      headers: auth,
    });
    await expectRefused(sent, 400, 'invalid_characters');
  });

  it('keeps tab-free, printable Unicode (RTL, combining marks, emoji) as it was', async () => {
    const name = 'ש\u05c1לום e\u0301 🦊';
    const sent = await register({ email: uniqueEmail(), password: PASSWORD, name });
    expect(sent.response.status).toBe(201);
  });
});

describe('path segments that do not decode answer 400 through the error handler', () => {
  for (const path of [
    '/t/%/v1/auth/session',
    '/t/%ff%fe/v1/auth/session',
    '/t/%E0%A4%A/v1/auth/login',
    `${ADMIN}/tenants/%ff/users`,
    `${ADMIN}/tenants/x/users/%zz`,
    '/v1/auth/%c0%80',
  ]) {
    it(path, async () => {
      const sent = await send(path, { headers: auth });
      await expectRefused(sent, 400, 'invalid_request');
      expect(sent.response.headers.get('Content-Type')).toMatch(/^application\/json/);
    });
  }

  it('a segment decoding to a control character: 400 invalid_characters', async () => {
    await expectRefused(await send('/t/a%00b/v1/auth/session'), 400, 'invalid_characters');
    await expectRefused(
      await send(`${ADMIN}/tenants/${tenant.slug}/users/%0a`, { headers: auth }),
      400,
      'invalid_characters',
    );
  });
});

describe('the rest of the boundary', () => {
  it('refuses JSON nested past 32 levels with 400 invalid_request (10,000 levels too)', async () => {
    for (const depth of [33, 10_000]) {
      const sent = await send(`${tenant.base}/v1/auth/login`, {
        method: 'POST',
        body: `${'['.repeat(depth)}${']'.repeat(depth)}`,
        headers: { 'Content-Type': 'application/json' },
      });
      await expectRefused(sent, 400, 'invalid_request');
    }
  });

  it('backup import: a control character in the passphrase or slug field', async () => {
    for (const [name, value] of [
      ['passphrase', 'a long passphrase\u0000with NUL'],
      ['slug', 'copy\u0000'],
    ]) {
      const form = new FormData();
      form.set('file', new File([new Uint8Array([0x62, 0x6b, 0x70, 0x31])], 'x.bkp1'));
      form.set('passphrase', 'a long enough passphrase');
      form.set(name!, value!);
      const sent = await send(`${ADMIN}/tenants/import`, {
        method: 'POST',
        body: form,
        headers: auth,
      });
      await expectRefused(sent, 400, 'invalid_characters');
    }
  });
});
