// Issue 5, item 3 (and issue 11, item 6, for the MFA challenge): login, register and the MFA
// challenge answer no sooner than the tenant's floor (300 ms by default) after the request
// arrived, so an existing account, an unknown email and a locked account take the same time. Times are Date.now() around send(), inside workerd.
import { describe, expect, it } from 'vitest';
import { makeTenant, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type Sent } from '../harness.ts';
import { codeAt, enableTOTP, passwordLogin, registerUser } from '../mfa/helpers.ts';
import { PASSWORD, WRONG_PASSWORD, login, register } from './helpers.ts';

const ROUNDS = 15;

async function timed(request: () => Promise<Sent>): Promise<{ sent: Sent; ms: number }> {
  const started = Date.now();
  const sent = await request();
  return { sent, ms: Date.now() - started };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function accounts(tenant: TestTenant, count: number): Promise<string[]> {
  const emails = Array.from({ length: count }, () => uniqueEmail());
  const sent = await Promise.all(emails.map((email) => register(tenant, email)));
  for (const s of sent) expect(s.response.status).toBe(201);
  return emails;
}

describe('credential timing floor', () => {
  it(
    'gives an existing account, an unknown email and a locked account medians within 10%',
    { timeout: 90_000 },
    async () => {
      // Attempts per account and address stay unlimited here: this measures time, not limits.
      const tenant = await makeTenant({
        settings: { rateLimits: { 'login.account': { limit: 1000 }, 'login.ip': { limit: 1000 } } },
      });
      // A fresh account per round, so wrong passwords never add up to a lockout.
      const existing = await accounts(tenant, ROUNDS);
      const [locked] = await accounts(tenant, 1);
      for (let i = 0; i < 5; i += 1)
        expect((await login(tenant, locked!, WRONG_PASSWORD)).response.status).toBe(401);

      const times = { existing: [] as number[], unknown: [] as number[], locked: [] as number[] };
      const bodies = new Set<string>();
      for (let round = 0; round < ROUNDS; round += 1) {
        // Interleaved, so drift in machine load touches every case alike.
        const cases = [
          ['existing', () => login(tenant, existing[round]!, WRONG_PASSWORD)],
          ['unknown', () => login(tenant, uniqueEmail(), WRONG_PASSWORD)],
          ['locked', () => login(tenant, locked!, PASSWORD)],
        ] as const;
        for (const [name, request] of cases) {
          const { sent, ms } = await timed(request);
          expect(sent.response.status).toBe(401);
          bodies.add(JSON.stringify(await sent.json()));
          times[name].push(ms);
        }
      }
      expect(bodies.size).toBe(1);
      const medians = {
        existing: median(times.existing),
        unknown: median(times.unknown),
        locked: median(times.locked),
      };
      console.log(
        `timing floor medians (ms): ${JSON.stringify(medians)}; all: ${JSON.stringify(times)}`,
      );
      const values = Object.values(medians);
      for (const value of values) expect(value).toBeGreaterThanOrEqual(300);
      expect(Math.max(...values) / Math.min(...values)).toBeLessThanOrEqual(1.1);
    },
  );

  it('holds a fast refusal (400 invalid_json) to the default floor', async () => {
    const tenant = await makeTenant();
    for (const path of ['/v1/auth/login', '/v1/auth/register']) {
      const { sent, ms } = await timed(() =>
        send(`${tenant.base}${path}`, {
          method: 'POST',
          body: '{',
          headers: { 'Content-Type': 'application/json' },
        }),
      );
      expect(sent.response.status).toBe(400);
      expect(ms).toBeGreaterThanOrEqual(300);
    }
  });

  it('uses the tenant floor once the tenant is loaded, for success and failure alike', async () => {
    const tenant = await makeTenant({ settings: { credentialResponseFloorMs: 700 } });
    const email = uniqueEmail();
    const signedUp = await timed(() => register(tenant, email));
    expect(signedUp.sent.response.status).toBe(201);
    expect(signedUp.ms).toBeGreaterThanOrEqual(700);
    const success = await timed(() => login(tenant, email, PASSWORD));
    expect(success.sent.response.status).toBe(200);
    expect(success.ms).toBeGreaterThanOrEqual(700);
    const failure = await timed(() => login(tenant, email, WRONG_PASSWORD));
    expect(failure.sent.response.status).toBe(401);
    expect(failure.ms).toBeGreaterThanOrEqual(700);
  });

  it('holds the MFA challenge to the floor: an unknown token at the default, codes at the tenant floor', async () => {
    const unknownTenant = await makeTenant();
    const unknown = await timed(() =>
      send(
        `${unknownTenant.base}/v1/auth/mfa/challenge`,
        jsonRequest('POST', { mfa_token: 'A'.repeat(43), code: '123456' }),
      ),
    );
    expect(unknown.sent.response.status).toBe(401);
    expect(unknown.ms).toBeGreaterThanOrEqual(300);

    const tenant = await makeTenant({ settings: { credentialResponseFloorMs: 700 } });
    const user = await registerUser(tenant);
    const { secret } = await enableTOTP(tenant, user);
    const { mfa_token } = await (
      await passwordLogin(tenant, user.email)
    ).json<{
      mfa_token: string;
    }>();
    const challenge = (code: string) =>
      timed(() =>
        send(`${tenant.base}/v1/auth/mfa/challenge`, jsonRequest('POST', { mfa_token, code })),
      );
    const accepted = new Set([-1, 0, 1, 2].map((offset) => codeAt(secret, new Date(), offset)));
    const wrong = ['000000', '111111', '222222'].find((code) => !accepted.has(code))!;
    const failure = await challenge(wrong);
    expect(failure.sent.response.status).toBe(401);
    expect(failure.ms).toBeGreaterThanOrEqual(700);
    const success = await challenge(codeAt(secret, new Date(), 1));
    expect(success.sent.response.status).toBe(200);
    expect(success.ms).toBeGreaterThanOrEqual(700);
  });

  it('leaves other endpoints alone', async () => {
    // A 5 s floor that the token endpoint would show plainly if it were held to it.
    const tenant = await makeTenant({ settings: { credentialResponseFloorMs: 5000 } });
    const { sent, ms } = await timed(() =>
      send(
        `${tenant.base}/v1/auth/token`,
        jsonRequest('POST', { grant_type: 'refresh_token', refresh_token: 'x' }),
      ),
    );
    expect(sent.response.status).toBe(400);
    expect(ms).toBeLessThan(2500);
  });
});
