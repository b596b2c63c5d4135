// Issue 12, items 5 and 6: a reset request and a sign-in code request for a known and an
// unknown address are indistinguishable in status, body and timing (medians of interleaved
// rounds, as test/worker/abuse/timing-floor.test.ts measures login), and answer no sooner than
// the floor. Times are Date.now() around send(), inside workerd; the mail goes out after the
// answer, so it is not in either time.
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, uniqueEmail } from '../fixtures.ts';
import type { Sent } from '../harness.ts';
import { PASSWORD, RecordingMailer, post, warmUp, mailSettings } from './helpers.ts';

beforeAll(warmUp);

const ROUNDS = 15;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function timed(request: () => Promise<Sent>): Promise<{ sent: Sent; ms: number }> {
  const started = Date.now();
  const sent = await request();
  return { sent, ms: Date.now() - started };
}

const UNLIMITED = Object.fromEntries(
  [
    'password_forgot.ip',
    'password_forgot.account',
    'email_otp.request_ip',
    'email_otp.request_account',
  ].map((name) => [name, { limit: 1000 }]),
);

for (const path of ['/v1/auth/password/forgot', '/v1/auth/email-otp/request']) {
  describe(`${path} timing`, () => {
    it(
      'gives a known and an unknown address the same status, body and median time (within 10%)',
      { timeout: 90_000 },
      async () => {
        const tenant = await makeTenant({
          settings: { rateLimits: UNLIMITED, mail: mailSettings({ otp_sign_in_enabled: true }) },
        });
        const mailer = new RecordingMailer();
        const email = uniqueEmail();
        const registered = await post(
          tenant,
          '/v1/auth/register',
          { email, password: PASSWORD },
          { mailer },
        );
        expect(registered.response.status).toBe(201);

        const times = { known: [] as number[], unknown: [] as number[] };
        const bodies = new Set<string>();
        for (let round = 0; round < ROUNDS; round += 1) {
          const cases = [
            ['known', email],
            ['unknown', uniqueEmail()],
          ] as const;
          for (const [name, address] of cases) {
            const { sent, ms } = await timed(() =>
              post(tenant, path, { email: address }, { mailer }),
            );
            expect(sent.response.status).toBe(202);
            bodies.add(JSON.stringify(await sent.json()));
            times[name].push(ms);
          }
        }
        expect(bodies.size).toBe(1);
        const medians = { known: median(times.known), unknown: median(times.unknown) };
        console.log(
          `${path} medians (ms): ${JSON.stringify(medians)}; all: ${JSON.stringify(times)}`,
        );
        for (const value of Object.values(medians)) expect(value).toBeGreaterThanOrEqual(300);
        expect(
          Math.max(medians.known, medians.unknown) / Math.min(medians.known, medians.unknown),
        ).toBeLessThanOrEqual(1.1);
        // Mails went to the known address only, one per round.
        expect(mailer.messages.filter((m) => m.kind !== 'email_verification')).toHaveLength(ROUNDS);
      },
    );
  });
}

describe('the other email endpoints', () => {
  it('hold even a fast refusal to the floor', async () => {
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    for (const path of [
      '/v1/auth/email/verify',
      '/v1/auth/password/reset',
      '/v1/auth/email-otp/verify',
    ]) {
      const { sent, ms } = await timed(() =>
        post(
          tenant,
          path,
          {
            token: 'x'.repeat(43),
            email: 'a@b.c',
            code: '000000',
            new_password: 'whatever phrase',
          },
          { mailer },
        ),
      );
      expect(sent.response.status).toBeGreaterThanOrEqual(400);
      expect(ms).toBeGreaterThanOrEqual(300);
    }
  });
});
