import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordAuditEvent } from '../../../src/features/audit/events.ts';
import { enforceRetention, sealChain, verifyChain } from '../../../src/features/audit/service.ts';
import {
  CookieJar,
  makeTenant,
  testConfig,
  testDB,
  uniqueEmail,
  type TestTenant,
} from '../fixtures.ts';
import {
  RETENTION_ROUND_TRIPS,
  SEAL_ROUND_TRIPS,
  runAuditMaintenance,
} from '../../../src/features/audit/scheduled.ts';
import { jsonRequest, send, testEnv, withinInvocationLimits } from '../harness.ts';

const deps = () => ({ db: testDB(), secretKey: testConfig().secretKey });

async function events(tenantId: string, type?: string): Promise<Record<string, unknown>[]> {
  const result = await testDB().execute(
    sql`select * from audit_events where tenant_id = ${tenantId}::uuid ${type ? sql`and type = ${type}` : sql``} order by created_at, id`,
  );
  return result.rows;
}

async function signUp(tenant: TestTenant, email = uniqueEmail()): Promise<CookieJar> {
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: 'correct horse battery' }),
  );
  const jar = new CookieJar();
  jar.store(sent.response);
  return jar;
}

let tenant: TestTenant;
beforeAll(async () => {
  tenant = await makeTenant({ corsOrigins: ['https://app.example.com'] });
});

describe('events are written with the action they record', () => {
  it('logout records exactly one security.session.revoked, with request id, IP and user agent', async () => {
    const jar = await signUp(tenant);
    const before = (await events(tenant.id, 'security.session.revoked')).length;
    const out = await send(`${tenant.base}/v1/auth/logout`, {
      method: 'POST',
      headers: { ...jar.header(), 'CF-Connecting-IP': '192.0.2.10', 'User-Agent': 'audit-test' },
    });
    const revoked = await events(tenant.id, 'security.session.revoked');
    expect(revoked).toHaveLength(before + 1);
    expect(revoked.at(-1)).toMatchObject({
      ip: '192.0.2.10',
      user_agent: 'audit-test',
      request_id: out.requestId,
      actor_type: 'user',
      target_type: 'session',
    });
    expect(await out.roundTrips()).toBe(1);
  });

  it('an action that did not happen records nothing: a refused origin, a second logout', async () => {
    const jar = await signUp(tenant);
    const count = async () => (await events(tenant.id, 'security.session.revoked')).length;
    const before = await count();
    const refused = await send(`${tenant.base}/v1/auth/logout`, {
      method: 'POST',
      headers: { ...jar.header(), Origin: 'https://evil.example' },
    });
    expect(refused.response.status).toBe(403);
    expect(await count()).toBe(before);
    await send(`${tenant.base}/v1/auth/logout`, { method: 'POST', headers: jar.header() });
    await send(`${tenant.base}/v1/auth/logout`, { method: 'POST', headers: jar.header() });
    expect(await count()).toBe(before + 1);
  });

  it('revoke-others records one event per revoked session', async () => {
    const email = uniqueEmail();
    const jar = await signUp(tenant, email);
    for (let i = 0; i < 2; i++)
      await send(
        `${tenant.base}/v1/auth/login`,
        jsonRequest('POST', { email, password: 'correct horse battery' }),
      );
    const before = (await events(tenant.id, 'security.session.revoked')).length;
    const others = await send(`${tenant.base}/v1/auth/sessions/revoke-others`, {
      method: 'POST',
      headers: jar.header(),
    });
    expect(await others.json()).toEqual({ revoked: 2 });
    expect((await events(tenant.id, 'security.session.revoked')).length).toBe(before + 2);
  });

  it('refresh-token reuse records security.token.reuse_detected once', async () => {
    const jar = await signUp(tenant);
    const tokens = await (
      await send(
        `${tenant.base}/v1/auth/token`,
        jsonRequest('POST', { grant_type: 'session' }, jar.header()),
      )
    ).json<{ refresh_token: string }>();
    const refresh = () =>
      send(
        `${tenant.base}/v1/auth/token`,
        jsonRequest('POST', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
      );
    const before = (await events(tenant.id, 'security.token.reuse_detected')).length;
    expect((await refresh()).response.status).toBe(200);
    expect((await refresh()).response.status).toBe(400);
    expect((await refresh()).response.status).toBe(400); // family already revoked: nothing more to record
    expect((await events(tenant.id, 'security.token.reuse_detected')).length).toBe(before + 1);
  });
});

describe('account events', () => {
  it('register, login and password change record one event each; a refused sign-up records none', async () => {
    const own = await makeTenant();
    const email = uniqueEmail();
    const jar = await signUp(own, email);
    expect(await events(own.id, 'security.user.registered')).toHaveLength(1);
    await signUp(own, email); // email_taken: nothing was created, so nothing is recorded
    expect(await events(own.id, 'security.user.registered')).toHaveLength(1);

    await send(
      `${own.base}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'correct horse battery' }),
    );
    expect(await events(own.id, 'security.login.succeeded')).toHaveLength(1);

    const changed = await send(
      `${own.base}/v1/auth/password/change`,
      jsonRequest(
        'POST',
        { current_password: 'correct horse battery', new_password: 'another good passphrase' },
        jar.header(),
      ),
    );
    expect(changed.response.status).toBe(200);
    expect(await events(own.id, 'security.password.changed')).toHaveLength(1);
    const revoked = await events(own.id, 'security.session.revoked');
    expect(revoked.map((e) => (e.details as { reason: string }).reason)).toEqual([
      'password_changed',
    ]);
  });

  it('failed logins are recorded with a reason the client never sees, and the lock with them', async () => {
    const own = await makeTenant({
      settings: { lockout: { maxFailures: 3, windowSeconds: 900, durationSeconds: 900 } },
    });
    const email = uniqueEmail();
    await signUp(own, email);
    const unknown = await send(
      `${own.base}/v1/auth/login`,
      jsonRequest('POST', { email: uniqueEmail(), password: 'whatever it is' }),
    );
    expect(JSON.stringify(await unknown.json())).not.toContain('unknown_account');
    for (let i = 0; i < 3; i++) {
      await send(
        `${own.base}/v1/auth/login`,
        jsonRequest('POST', { email, password: 'not the password' }),
      );
    }
    const failed = await events(own.id, 'security.login.failed');
    expect(failed.map((e) => (e.details as { reason: string }).reason)).toEqual([
      'unknown_account',
      'wrong_password',
      'wrong_password',
      'wrong_password',
    ]);
    expect(await events(own.id, 'security.account.locked')).toHaveLength(1);
  });
});

describe('the HMAC chain', () => {
  async function sealedTenant(): Promise<TestTenant> {
    const own = await makeTenant();
    for (let i = 0; i < 3; i++) {
      const jar = await signUp(own);
      await send(`${own.base}/v1/auth/logout`, { method: 'POST', headers: jar.header() });
    }
    while ((await sealChain(deps(), own.id)) > 0);
    return own;
  }

  it('verifies when untouched, and reports events not yet sealed', async () => {
    const own = await sealedTenant();
    const sealedCount = (await events(own.id)).length;
    const result = await verifyChain(deps(), own.id);
    expect(result).toMatchObject({
      ok: true,
      checked: sealedCount,
      headSeq: sealedCount,
      unsealed: 0,
    });
    await recordAuditEvent(testDB(), {
      tenantId: own.id,
      type: 'security.test.pending',
      actor: { type: 'system' },
      at: new Date(),
    });
    expect(await verifyChain(deps(), own.id)).toMatchObject({ ok: true, unsealed: 1 });
  });

  it('finds an edited row', async () => {
    const own = await sealedTenant();
    await testDB().execute(
      sql`update audit_events set ip = '203.0.113.99' where tenant_id = ${own.id}::uuid and seq = 2`,
    );
    expect(await verifyChain(deps(), own.id)).toMatchObject({
      ok: false,
      seq: 2,
      problem: 'edited',
    });
  });

  it('finds a deleted row in the middle and at the end', async () => {
    const own = await sealedTenant();
    await testDB().execute(
      sql`delete from audit_events where tenant_id = ${own.id}::uuid and seq = 2`,
    );
    expect(await verifyChain(deps(), own.id)).toMatchObject({
      ok: false,
      seq: 2,
      problem: 'missing',
    });

    const other = await sealedTenant();
    await testDB().execute(
      sql`delete from audit_events where tenant_id = ${other.id}::uuid and seq = (select max(seq) from audit_events where tenant_id = ${other.id}::uuid)`,
    );
    expect(await verifyChain(deps(), other.id)).toMatchObject({ ok: false, problem: 'truncated' });
  });

  it('two sealers racing cannot fork the chain', async () => {
    const own = await makeTenant();
    for (let i = 0; i < 5; i++) {
      await recordAuditEvent(testDB(), {
        tenantId: own.id,
        type: 'security.test.race',
        actor: { type: 'system' },
        at: new Date(),
      });
    }
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, () => sealChain(deps(), own.id)),
    );
    expect(results.some((r) => r.status === 'fulfilled' && r.value === 5)).toBe(true);
    while ((await sealChain(deps(), own.id)) > 0);
    expect(await verifyChain(deps(), own.id)).toMatchObject({ ok: true, checked: 5 });
  });

  it('retention deletes only what is older than the tenant setting, and the chain still verifies', async () => {
    const own = await makeTenant({ settings: { auditRetentionDays: 30 } });
    const now = new Date();
    const old = new Date(now.getTime() - 40 * 86_400_000);
    for (let i = 0; i < 3; i++) {
      await recordAuditEvent(testDB(), {
        tenantId: own.id,
        type: 'security.test.old',
        actor: { type: 'system' },
        at: new Date(old.getTime() + i),
      });
    }
    for (let i = 0; i < 2; i++) {
      await recordAuditEvent(testDB(), {
        tenantId: own.id,
        type: 'security.test.recent',
        actor: { type: 'system' },
        at: new Date(now.getTime() - 86_400_000 + i),
      });
    }
    while ((await sealChain(deps(), own.id)) > 0);
    await enforceRetention(deps(), now);
    const left = await events(own.id);
    expect(left.map((e) => e.type)).toEqual(['security.test.recent', 'security.test.recent']);
    expect(await verifyChain(deps(), own.id)).toMatchObject({ ok: true, checked: 2, headSeq: 5 });
  });
});

describe('the every-minute tick', () => {
  it('stays within an invocation subrequest limit however many chains wait, sealing the backlog over later ticks', async () => {
    const waiting = await Promise.all(Array.from({ length: 24 }, () => makeTenant()));
    const at = new Date();
    for (const t of waiting) {
      await recordAuditEvent(testDB(), {
        tenantId: t.id,
        type: 'security.test.waiting',
        actor: { type: 'system' },
        at,
      });
    }
    const unsealed = async () => {
      const result = await testDB().execute(
        sql`select count(*)::int as n from audit_events
            where seq is null and tenant_id = any(${`{${waiting.map((t) => t.id).join(',')}}`}::uuid[])`,
      );
      return Number(result.rows[0]?.n);
    };
    expect(await unsealed()).toBe(24);
    let ticks = 0;
    while ((await unsealed()) > 0) {
      ticks += 1;
      expect(ticks, 'ticks to seal the backlog').toBeLessThanOrEqual(10);
      const { subrequests } = await withinInvocationLimits(() =>
        runAuditMaintenance(testEnv, new Date()),
      );
      expect(subrequests).toBeLessThanOrEqual(SEAL_ROUND_TRIPS + RETENTION_ROUND_TRIPS);
    }
    // 24 chains cannot all be sealed in one tick's 15 batches.
    expect(ticks).toBeGreaterThan(1);
    for (const t of waiting) expect(await verifyChain(deps(), t.id)).toMatchObject({ ok: true });
  });
});
