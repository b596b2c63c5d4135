import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { CookieJar } from '../fixtures.ts';
import { testDB } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import {
  ADMIN,
  OPERATOR_PASSWORD,
  bearer,
  countRows,
  makeKey,
  makeOperator,
  signInOperator,
  uniqueOperatorEmail,
} from './fixtures.ts';

const me = (jar: CookieJar) => send(`${ADMIN}/me`, { headers: jar.header() });

describe('operator password policy', () => {
  const email = 'harriet.vane@example.com';
  const cases: [string, string, string][] = [
    ['11 characters', 'Tr0ub4dor&3', 'password_too_short'],
    ['257 characters', `Aa1-${'x'.repeat(253)}`, 'password_too_long'],
    [
      'on the common list (case-insensitively), whatever its length',
      'QwertyUIOP',
      'password_too_common',
    ],
    ['with two classes only', 'lowercaseanddigits42', 'password_too_few_classes'],
    [
      'containing a 3-character piece of the email local part',
      'Zebra-Quartz-VAN-1',
      'password_contains_email',
    ],
  ];
  for (const [name, password, code] of cases) {
    it(`refuses a password ${name} with ${code}, creating nothing`, async () => {
      const owner = await makeOperator('owner');
      const before = await countRows('operators');
      const sent = await send(
        `${ADMIN}/operators`,
        jsonRequest('POST', { email, password, role: 'admin' }, owner.jar.header()),
      );
      expect(sent.response.status).toBe(400);
      expect(await sent.json()).toMatchObject({ error: code });
      expect(await countRows('operators', sql`email_normalized = ${email}`)).toBe(0);
      expect(await countRows('operators')).toBeGreaterThanOrEqual(before);
    });
  }

  it('accepts 12 characters with three classes and nothing of the email', async () => {
    const owner = await makeOperator('owner');
    const sent = await send(
      `${ADMIN}/operators`,
      jsonRequest(
        'POST',
        { email: uniqueOperatorEmail(), password: 'Quartz-pike9', role: 'admin' },
        owner.jar.header(),
      ),
    );
    expect(sent.response.status).toBe(201);
  });
});

describe('operator sessions', () => {
  it('sets a __Host- cookie that is Secure, HttpOnly and SameSite=Strict', async () => {
    const operator = await makeOperator();
    const sent = await send(
      `${ADMIN}/auth/login`,
      jsonRequest('POST', { email: operator.email, password: operator.password }),
    );
    const cookie = sent.response.headers.get('Set-Cookie') ?? '';
    expect(cookie).toMatch(/^__Host-gatehouse_admin=/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/Domain=/i);
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const operator = await makeOperator();
    const wrong = await send(
      `${ADMIN}/auth/login`,
      jsonRequest('POST', { email: operator.email, password: 'Wrong-password-1' }),
    );
    const unknown = await send(
      `${ADMIN}/auth/login`,
      jsonRequest('POST', { email: uniqueOperatorEmail(), password: 'Wrong-password-1' }),
    );
    expect(wrong.response.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it('checks the session in one round trip; logout revokes it server-side', async () => {
    const operator = await makeOperator();
    const check = await me(operator.jar);
    expect(check.response.status).toBe(200);
    expect(await check.roundTrips()).toBe(1);
    const out = await send(`${ADMIN}/auth/logout`, {
      method: 'POST',
      headers: operator.jar.header(),
    });
    expect(out.response.status).toBe(200);
    expect(out.response.headers.get('Set-Cookie')).toMatch(/Max-Age=0/);
    expect((await me(operator.jar)).response.status).toBe(401);
  });

  it('lists own sessions and revokes one of them', async () => {
    const operator = await makeOperator();
    const second = await signInOperator(operator.email, operator.password);
    const listed = await send(`${ADMIN}/me/sessions`, { headers: operator.jar.header() });
    const { sessions } = await listed.json<{ sessions: { id: string; current: boolean }[] }>();
    expect(sessions).toHaveLength(2);
    const other = sessions.find((s) => !s.current)!;
    const revoked = await send(`${ADMIN}/me/sessions/${other.id}`, {
      method: 'DELETE',
      headers: operator.jar.header(),
    });
    expect(revoked.response.status).toBe(200);
    expect((await me(second)).response.status).toBe(401);
    expect((await me(operator.jar)).response.status).toBe(200);
    // Another operator's session id is not found from here.
    const stranger = await makeOperator();
    const theirs = await send(`${ADMIN}/me/sessions`, { headers: stranger.jar.header() });
    const theirId = (await theirs.json<{ sessions: { id: string }[] }>()).sessions[0]!.id;
    const foreign = await send(`${ADMIN}/me/sessions/${theirId}`, {
      method: 'DELETE',
      headers: operator.jar.header(),
    });
    expect(foreign.response.status).toBe(404);
    expect((await me(stranger.jar)).response.status).toBe(200);
  });

  it('refuses a cookie-authenticated write from a foreign Origin (CSRF)', async () => {
    const operator = await makeOperator();
    const before = await countRows('api_keys');
    const sent = await send(
      `${ADMIN}/api-keys`,
      jsonRequest(
        'POST',
        { name: 'csrf', scopes: ['tenants:read'] },
        { ...operator.jar.header(), Origin: 'https://evil.example' },
      ),
    );
    expect(sent.response.status).toBe(403);
    expect(await sent.json()).toMatchObject({ error: 'origin_not_allowed' });
    expect(await countRows('api_keys')).toBe(before);
  });

  it('changes the password with the current one, revoking the other sessions', async () => {
    const operator = await makeOperator();
    const other = await signInOperator(operator.email, operator.password);
    const wrong = await send(
      `${ADMIN}/me/password`,
      jsonRequest(
        'POST',
        { current_password: 'Not-the-password-1', new_password: 'Fresh-Granite-55' },
        operator.jar.header(),
      ),
    );
    expect(wrong.response.status).toBe(401);
    const changed = await send(
      `${ADMIN}/me/password`,
      jsonRequest(
        'POST',
        { current_password: operator.password, new_password: 'Fresh-Granite-55' },
        operator.jar.header(),
      ),
    );
    expect(changed.response.status).toBe(200);
    expect((await me(other)).response.status).toBe(401);
    expect((await me(operator.jar)).response.status).toBe(200);
    await signInOperator(operator.email, 'Fresh-Granite-55');
  });

  it('lets owners create operators, not admins, and never API keys', async () => {
    const admin = await makeOperator('admin');
    const byAdmin = await send(
      `${ADMIN}/operators`,
      jsonRequest(
        'POST',
        { email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
        admin.jar.header(),
      ),
    );
    expect(byAdmin.response.status).toBe(403);
    const owner = await makeOperator('owner');
    const { key } = await makeKey(owner);
    const byKey = await send(
      `${ADMIN}/operators`,
      jsonRequest(
        'POST',
        { email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
        bearer(key),
      ),
    );
    expect(byKey.response.status).toBe(403);
    const byOwner = await send(
      `${ADMIN}/operators`,
      jsonRequest(
        'POST',
        { email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
        owner.jar.header(),
      ),
    );
    expect(byOwner.response.status).toBe(201);
    expect((await byOwner.json<{ operator: { role: string } }>()).operator.role).toBe('admin');
  });
});

describe('recovery codes', () => {
  it('reset the password once: the used code and all the others stop working, every session is revoked', async () => {
    const operator = await makeOperator();
    const [first, second] = operator.recoveryCodes;
    const recover = (code: string, password: string) =>
      send(
        `${ADMIN}/recover`,
        jsonRequest('POST', { email: operator.email, recovery_code: code, new_password: password }),
      );
    const reset = await recover(first!, 'Recovered-Basalt-81');
    expect(reset.response.status).toBe(200);
    expect((await me(operator.jar)).response.status).toBe(401);
    await signInOperator(operator.email, 'Recovered-Basalt-81');
    const reuse = await recover(first!, 'Another-Basalt-82');
    expect(reuse.response.status).toBe(401);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_credentials' });
    const other = await recover(second!, 'Another-Basalt-82');
    expect(other.response.status).toBe(401);
    await signInOperator(operator.email, 'Recovered-Basalt-81');
    const used = await testDB().execute(
      sql`select count(*)::int as n from operator_recovery_codes where operator_id = ${operator.id}::uuid and used_at is null`,
    );
    expect(used.rows[0]!.n).toBe(0);
  });

  it('are accepted in lower case and without dashes, but not for another operator', async () => {
    const operator = await makeOperator();
    const stranger = await makeOperator();
    const code = operator.recoveryCodes[3]!;
    const wrongOwner = await send(
      `${ADMIN}/recover`,
      jsonRequest('POST', {
        email: stranger.email,
        recovery_code: code,
        new_password: 'Recovered-Basalt-81',
      }),
    );
    expect(wrongOwner.response.status).toBe(401);
    const sent = await send(
      `${ADMIN}/recover`,
      jsonRequest('POST', {
        email: operator.email,
        recovery_code: code.toLowerCase().replace(/-/g, ''),
        new_password: 'Recovered-Basalt-81',
      }),
    );
    expect(sent.response.status).toBe(200);
  });

  it('are regenerated at most 3 times an hour per operator', async () => {
    const operator = await makeOperator();
    for (let i = 0; i < 3; i += 1) {
      const ok = await send(
        `${ADMIN}/me/recovery-codes`,
        jsonRequest('POST', { current_password: operator.password }, operator.jar.header()),
      );
      expect(ok.response.status).toBe(200);
    }
    const limited = await send(
      `${ADMIN}/me/recovery-codes`,
      jsonRequest('POST', { current_password: operator.password }, operator.jar.header()),
    );
    expect(limited.response.status).toBe(429);
  });

  it('are replaced only with the current password; the old set stops working', async () => {
    const operator = await makeOperator();
    const refused = await send(
      `${ADMIN}/me/recovery-codes`,
      jsonRequest('POST', { current_password: 'Not-the-password-1' }, operator.jar.header()),
    );
    expect(refused.response.status).toBe(401);
    const renewed = await send(
      `${ADMIN}/me/recovery-codes`,
      jsonRequest('POST', { current_password: operator.password }, operator.jar.header()),
    );
    expect(renewed.response.status).toBe(200);
    const { recovery_codes: fresh } = await renewed.json<{ recovery_codes: string[] }>();
    expect(fresh).toHaveLength(10);
    const old = await send(
      `${ADMIN}/recover`,
      jsonRequest('POST', {
        email: operator.email,
        recovery_code: operator.recoveryCodes[0],
        new_password: 'Recovered-Basalt-81',
      }),
    );
    expect(old.response.status).toBe(401);
    const ok = await send(
      `${ADMIN}/recover`,
      jsonRequest('POST', {
        email: operator.email,
        recovery_code: fresh[0],
        new_password: 'Recovered-Basalt-81',
      }),
    );
    expect(ok.response.status).toBe(200);
  });

  it('let only one of two concurrent resets with the same code through', async () => {
    const operator = await makeOperator();
    const code = operator.recoveryCodes[0]!;
    const results = await Promise.all(
      ['Racing-Granite-11', 'Racing-Granite-22'].map((password) =>
        send(
          `${ADMIN}/recover`,
          jsonRequest('POST', {
            email: operator.email,
            recovery_code: code,
            new_password: password,
          }),
        ),
      ),
    );
    expect(results.map((r) => r.response.status).sort()).toEqual([200, 401]);
  });
});
