// Issue 14 defect: two first sign-ins of one identity at once. Both callbacks decide "created";
// the loser's insert meets the winner's uncommitted row (unique (provider, subject) and the
// tenant's address). It must end as the same user signed in, or a clean 409: never a 500, never a
// second account.
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { CookieJar, testDB, uniqueEmail } from '../fixtures.ts';
import { send, type Sent } from '../harness.ts';
import {
  federatedTenant,
  queueLogin,
  visitCallback,
  walkToCallback,
  writtenFor,
} from './fixtures.ts';

async function sessionEmail(base: string, jar: CookieJar): Promise<string | null> {
  const session = await send(`${base}/v1/auth/session`, { headers: jar.header() });
  if (session.response.status !== 200) return null;
  return (await session.json<{ user: { email: string } }>()).user.email;
}

describe('concurrent first sign-ins of one identity', () => {
  it('both callbacks end signed in as one user (the loser retries once), no 500, one account', async () => {
    const fed = await federatedTenant();
    const outcomes: { sent: Sent; jar: CookieJar; email: string }[] = [];
    let raced = 0;
    // Each round: two browsers walk to the callback with the same new identity, then both
    // callbacks arrive at once. A round whose loser collided shows a third round trip.
    for (let round = 0; round < 8 && raced === 0; round += 1) {
      const email = uniqueEmail();
      const account = { sub: `race-${email}`, email, email_verified: true };
      const jars = [new CookieJar(), new CookieJar()];
      const walks = [];
      for (const jar of jars) {
        await queueLogin(fed, account);
        walks.push(await walkToCallback(fed, jar));
      }
      const sent = await Promise.all(
        walks.map((walk, i) => visitCallback(walk.callbackURL, jars[i]!)),
      );
      for (const [i, one] of sent.entries()) {
        const body = one.response.status === 303 ? '' : await one.response.clone().text();
        expect(one.response.status, `${body} ${one.logs.join('\n')}`).toBe(303);
        const trips = await one.roundTrips();
        expect(trips).toBeGreaterThanOrEqual(2);
        expect(trips).toBeLessThanOrEqual(3);
        if (trips === 3) raced += 1;
        outcomes.push({ sent: one, jar: jars[i]!, email });
      }
    }
    // The collision did happen (else this test proved nothing about it).
    expect(raced).toBeGreaterThan(0);
    for (const { jar, email } of outcomes)
      expect(await sessionEmail(fed.tenant.base, jar)).toBe(email);
    const counts = await writtenFor(fed.tenant.id);
    const rounds = outcomes.length / 2;
    expect(counts.users).toBe(rounds);
    expect(counts.identities).toBe(rounds);
    expect(counts.sessions).toBe(rounds * 2);
    const owners = await testDB().execute(sql`
      select count(distinct s.user_id)::int as n from sessions s where s.tenant_id = ${fed.tenant.id}::uuid`);
    expect(Number(owners.rows[0]!.n)).toBe(rounds);
  });
});
