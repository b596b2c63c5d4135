// Recovery codes (single use, normalised, regenerated only with a current factor) and the
// tenant MFA policy (required: enrol through the MFA token; required_for_admins: by role).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { ADMIN, makeOperator } from '../admin/fixtures.ts';
import { decodeTOTPSecret } from '../../../src/features/mfa/totp.ts';
import {
  ManualClock,
  auditTypes,
  codeAt,
  enableTOTP,
  passwordLogin,
  registerUser,
  withClock,
} from './helpers.ts';

interface MfaAnswer {
  mfa_required: boolean;
  mfa_token: string;
  methods: string[];
  enrollment_required?: boolean;
}

/** Sets the policy as an operator would: through the admin API. */
async function setMfaSettings(
  tenant: TestTenant,
  mfa: { policy: string; adminRoles?: string[] },
): Promise<void> {
  const operator = await makeOperator();
  const sent = await send(
    `${ADMIN}/tenants/${tenant.slug}`,
    jsonRequest(
      'PATCH',
      { settings: { mfa: { policy: mfa.policy, admin_roles: mfa.adminRoles } } },
      operator.jar.header(),
    ),
  );
  expect(sent.response.status).toBe(200);
  expect(await sent.json()).toMatchObject({
    tenant: { settings: { mfa: { policy: mfa.policy } } },
  });
}

describe('recovery codes', () => {
  let tenant: TestTenant;
  beforeAll(async () => {
    tenant = await makeTenant();
  });

  it('signs in with a code, ignoring case and separators; using one voids all the rest and the answer says to make new ones', async () => {
    const user = await registerUser(tenant);
    const { recoveryCodes } = await enableTOTP(tenant, user);
    const code = recoveryCodes[0]!;
    const typed = ` ${code.toUpperCase().replace(/-/g, ' ')} `;
    const first = await (await passwordLogin(tenant, user.email)).json<MfaAnswer>();
    const used = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: first.mfa_token, code: typed }),
    );
    expect(used.response.status).toBe(200);
    expect(await used.json()).toMatchObject({
      recovery_codes_remaining: 0,
      regenerate_recovery_codes: true,
    });
    expect(await auditTypes(tenant.id, 'security.recovery_code.used')).toBe(1);

    const second = await (await passwordLogin(tenant, user.email)).json<MfaAnswer>();
    const again = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: second.mfa_token, code }),
    );
    expect(again.response.status).toBe(401);
    expect(await again.json()).toMatchObject({ error: 'invalid_code' });
    expect(await auditTypes(tenant.id, 'security.recovery_code.used')).toBe(1);

    const left = await send(`${tenant.base}/v1/auth/mfa/recovery-codes`, {
      headers: user.jar.header(),
    });
    expect(await left.json()).toEqual({ remaining: 0 });
    // A code never used is void too (the production checklist: one use invalidates the set).
    const third = await (await passwordLogin(tenant, user.email)).json<MfaAnswer>();
    const unused = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: third.mfa_token, code: recoveryCodes[5] }),
    );
    expect(unused.response.status).toBe(401);
    const hashes = await testDB().execute(sql`
      select c.code_hash from mfa_recovery_codes c join users u on u.id = c.user_id where u.email_normalized = ${user.email}`);
    for (const row of hashes.rows)
      for (const plain of recoveryCodes) expect(String(row.code_hash)).not.toContain(plain);
  });

  it('regenerates only with a current code, and the new set replaces the old', async () => {
    const clock = new ManualClock(new Date('2026-11-23T13:00:05Z'));
    const user = await registerUser(tenant);
    const { secret, recoveryCodes } = await enableTOTP(tenant, user, clock);
    const url = `${tenant.base}/v1/auth/mfa/recovery-codes/regenerate`;
    const none = await send(url, jsonRequest('POST', {}, user.jar.header()), withClock(clock));
    expect(none.response.status).toBe(400);
    const wrong = await send(
      url,
      jsonRequest('POST', { code: codeAt(secret, clock.now(), 3) }, user.jar.header()),
      withClock(clock),
    );
    expect(wrong.response.status).toBe(401);
    clock.advance(30);
    const ok = await send(
      url,
      jsonRequest('POST', { code: codeAt(secret, clock.now()) }, user.jar.header()),
      withClock(clock),
    );
    expect(ok.response.status).toBe(200);
    const fresh = (await ok.json<{ recovery_codes: string[] }>()).recovery_codes;
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(recoveryCodes[0]);
    expect(
      await auditTypes(tenant.id, 'security.recovery_codes.regenerated'),
    ).toBeGreaterThanOrEqual(1);

    const login = await (await passwordLogin(tenant, user.email, clock)).json<MfaAnswer>();
    const old = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: login.mfa_token, code: recoveryCodes[0] }),
      withClock(clock),
    );
    expect(old.response.status).toBe(401);
    const current = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: login.mfa_token, code: fresh[0] }),
      withClock(clock),
    );
    expect(current.response.status).toBe(200);
  });

  it('limits regeneration to 3 an hour per user, charged before the code is checked', async () => {
    const clock = new ManualClock(new Date('2026-11-23T15:00:05Z'));
    const user = await registerUser(tenant);
    const { secret } = await enableTOTP(tenant, user, clock);
    const url = `${tenant.base}/v1/auth/mfa/recovery-codes/regenerate`;
    for (let i = 1; i <= 3; i += 1) {
      clock.advance(30);
      const ok = await send(
        url,
        jsonRequest('POST', { code: codeAt(secret, clock.now()) }, user.jar.header()),
        withClock(clock),
      );
      expect(ok.response.status).toBe(200);
    }
    clock.advance(30);
    const limited = await send(
      url,
      jsonRequest('POST', { code: codeAt(secret, clock.now()) }, user.jar.header()),
      withClock(clock),
    );
    expect(limited.response.status).toBe(429);
    expect(limited.response.headers.get('RateLimit-Policy')).toContain(
      'mfa.recovery_codes_regenerate',
    );
  });
});

describe('tenant MFA policy', () => {
  it('is set through the admin API, which refuses an unknown policy and writes nothing', async () => {
    const tenant = await makeTenant();
    const operator = await makeOperator();
    const refused = await send(
      `${ADMIN}/tenants/${tenant.slug}`,
      jsonRequest('PATCH', { settings: { mfa: { policy: 'sometimes' } } }, operator.jar.header()),
    );
    expect(refused.response.status).toBe(400);
    const stored = await testDB().execute(
      sql`select coalesce(settings->'mfa'->>'policy', 'optional') as policy from tenants where id = ${tenant.id}::uuid`,
    );
    expect(stored.rows[0]?.policy).toBe('optional');
  });

  it('required: a user without a factor gets an enrol-only token, and enrolling with it starts the session', async () => {
    const tenant = await makeTenant();
    await setMfaSettings(tenant, { policy: 'required' });
    const user = await registerUser(tenant);
    const login = await passwordLogin(tenant, user.email);
    const answer = await login.json<MfaAnswer>();
    expect(answer).toMatchObject({ mfa_required: true, methods: [], enrollment_required: true });
    expect(login.response.headers.getSetCookie()).toEqual([]);

    // The enrol token is not a challenge token.
    const challenge = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token: answer.mfa_token, code: '123456' }),
    );
    expect(challenge.response.status).toBe(401);

    const enrolled = await send(
      `${tenant.base}/v1/auth/mfa/totp/enroll`,
      jsonRequest('POST', { mfa_token: answer.mfa_token }),
    );
    expect(enrolled.response.status).toBe(200);
    const secret = decodeTOTPSecret((await enrolled.json<{ secret: string }>()).secret);
    const verified = await send(
      `${tenant.base}/v1/auth/mfa/totp/verify`,
      jsonRequest('POST', { mfa_token: answer.mfa_token, code: codeAt(secret, new Date()) }),
    );
    expect(verified.response.status).toBe(200);
    expect(await verified.json()).toMatchObject({ status: 'enabled', user: { email: user.email } });
    const jar = new CookieJar();
    jar.store(verified.response);
    expect(
      (await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() })).response.status,
    ).toBe(200);

    const reused = await send(
      `${tenant.base}/v1/auth/mfa/totp/enroll`,
      jsonRequest('POST', { mfa_token: answer.mfa_token }),
    );
    expect(reused.response.status).toBe(401);
  });

  it('required_for_admins: an organization owner must enrol, a plain member signs in', async () => {
    const tenant = await makeTenant();
    await setMfaSettings(tenant, { policy: 'required_for_admins', adminRoles: ['owner'] });
    const owner = await registerUser(tenant, { organization_name: 'Acme' });
    const plain = await registerUser(tenant);
    expect(await (await passwordLogin(tenant, owner.email)).json()).toMatchObject({
      enrollment_required: true,
    });
    expect(await (await passwordLogin(tenant, plain.email)).json()).toMatchObject({
      user: { email: plain.email },
    });
  });
});
