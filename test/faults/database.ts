// Issue 11, "Dependencies that fail" and "fault suite": the database hung (SIGSTOP: accepting
// connections, answering nothing) and killed mid-traffic then restarted. Before the deadlines a
// hung database held every request past 20 s and a dead one answered 500 server_error.
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { runInRequestScope } from '../../src/request-scope.ts';
import { makeTenant, testDB, uniqueEmail, type TestTenant } from '../worker/fixtures.ts';
import { jsonRequest, send, type Sent } from '../worker/harness.ts';
import {
  REQUEST_TIMEOUT_MS,
  SKIP_REASON,
  SLACK_MS,
  STATEMENT_TIMEOUT_MS,
  expectUnavailable,
  fault,
  record,
  timed,
} from './helpers.ts';

const PASSWORD = 'correct horse battery';
let ip = 0;

function register(tenant: TestTenant, email: string): Promise<Sent> {
  ip += 1;
  return send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest(
      'POST',
      { email, password: PASSWORD, organization_name: 'Fault Org' },
      // A fresh address each time: register.ip allows 3 an hour.
      { 'CF-Connecting-IP': `10.${(ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}` },
    ),
  );
}

/** What one registration wrote: all four rows or none (the single-statement insert). */
async function accountRows(tenantId: string, email: string): Promise<number[]> {
  const result = await testDB().execute(sql`
    select
      (select count(*)::int from users u where u.tenant_id = ${tenantId}::uuid and u.email = ${email}) as users,
      (select count(*)::int from memberships m join users u on u.id = m.user_id
        where u.tenant_id = ${tenantId}::uuid and u.email = ${email}) as memberships,
      (select count(*)::int from organizations o join memberships m on m.organization_id = o.id
        join users u on u.id = m.user_id where u.tenant_id = ${tenantId}::uuid and u.email = ${email}) as organizations,
      (select count(*)::int from sessions s join users u on u.id = s.user_id
        where u.tenant_id = ${tenantId}::uuid and u.email = ${email}) as sessions`);
  const row = result.rows[0]!;
  return [row.users, row.memberships, row.organizations, row.sessions].map(Number);
}

describe.skipIf(SKIP_REASON !== '')('the database fails', () => {
  afterEach(async () => {
    await fault('postgres', 'resume');
    await fault('postgres', 'start');
  });

  it('hung: requests answer 503 database_unavailable within the statement deadline, all at once, and 201 once it resumes', async () => {
    const tenant = await makeTenant();
    await fault('postgres', 'pause');
    const emails = [uniqueEmail(), uniqueEmail(), uniqueEmail(), uniqueEmail()];
    // Concurrent requests: none holds the isolate past its deadline.
    const { result: hung, ms } = await timed(() =>
      Promise.all(emails.map((email) => register(tenant, email))),
    );
    record('database hung → 503 (4 concurrent)', ms);
    for (const sent of hung) await expectUnavailable(sent, 'database_unavailable', 'database');
    expect(ms).toBeLessThan(STATEMENT_TIMEOUT_MS + SLACK_MS);

    await fault('postgres', 'resume');
    const back = await register(tenant, emails[0]!);
    expect(back.response.status).toBe(201);
    for (const email of emails.slice(1))
      expect(await accountRows(tenant.id, email)).toEqual([0, 0, 0, 0]);
    expect(await accountRows(tenant.id, emails[0]!)).toEqual([1, 1, 1, 1]);
  });

  it('a request whose statements have used up the request deadline gets no more time', async () => {
    // Each statement within its own deadline, but the request has waited REQUEST - 200 ms already.
    const { ms, result } = await timed(() =>
      runInRequestScope(
        { requestId: 'fault-request-deadline', databaseWaitMs: REQUEST_TIMEOUT_MS - 200 },
        () =>
          testDB()
            .execute(sql`select pg_sleep(0.8)`)
            .then(
              () => 'answered',
              (error: unknown) => error,
            ),
      ),
    );
    expect(String((result as Error).cause ?? result)).toContain('database unavailable');
    expect(ms).toBeLessThan(200 + SLACK_MS);
    expect(ms).toBeGreaterThanOrEqual(150);
  });

  it('killed mid-traffic: 201 or 503 (never 500), 503 while down, 201 after the restart; no half-written account', async () => {
    const tenant = await makeTenant();
    const outcomes = new Map<string, number>();
    const wave = async (count: number, during?: () => Promise<void>): Promise<Sent[]> => {
      const emails = Array.from({ length: count }, () => uniqueEmail());
      const pending = emails.map((email) => register(tenant, email));
      await during?.();
      const sent = await Promise.all(pending);
      sent.forEach((s, i) => outcomes.set(emails[i]!, s.response.status));
      return sent;
    };

    const before = await wave(6);
    expect(before.map((s) => s.response.status)).toEqual(Array(6).fill(201));
    // Killed while these are in flight: each either committed whole or not at all.
    const during = await wave(8, () => fault('postgres', 'kill'));
    for (const sent of during) expect([201, 503]).toContain(sent.response.status);
    const { result: down, ms } = await timed(() => wave(6));
    record('database down → 503 (6 concurrent)', ms);
    for (const sent of down) await expectUnavailable(sent, 'database_unavailable', 'database');
    expect(ms).toBeLessThan(STATEMENT_TIMEOUT_MS + SLACK_MS);

    await fault('postgres', 'start');
    const { result: after, ms: afterMs } = await timed(() => wave(6));
    record('database restarted → 201 (6 concurrent)', afterMs);
    expect(after.map((s) => s.response.status)).toEqual(Array(6).fill(201));

    for (const [email, status] of outcomes) {
      const rows = await accountRows(tenant.id, email);
      if (status === 201) expect(rows, email).toEqual([1, 1, 1, 1]);
      else
        expect(
          [
            [0, 0, 0, 0],
            [1, 1, 1, 1],
          ],
          email,
        ).toContainEqual(rows);
    }
  });
});
