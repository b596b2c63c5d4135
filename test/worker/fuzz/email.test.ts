// Fuzz: the email flows (/t/{slug}/v1/auth/email/*, password forgot and reset, email one-time
// codes) with hostile requests. See run.ts.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { requestFor } from './requests.ts';
import { familyRoutes, fuzzTimeout, isEmailRoute, runFamily } from './run.ts';
import { fuzzAccount, ownRows, type FuzzAccount } from './setup.ts';

let account: FuzzAccount;

beforeAll(async () => {
  account = await fuzzAccount();
});

describe('fuzz: email routes', () => {
  it(
    'answers every malformed request with a coded 4xx, never a 5xx, and writes no row',
    async () => {
      const routes = familyRoutes((r) => isEmailRoute(r.path));
      expect(routes.length).toBeGreaterThanOrEqual(6);
      const before = await ownRows({ tenantId: account.tenant.id });
      expect(Object.keys(before).length, 'tables in the snapshot').toBeGreaterThan(2);
      const report = await runFamily(
        'email',
        requestFor(routes, {
          prefix: account.tenant.base,
          validAuth: [account.jar.header()],
          cookieName: account.cookieName,
          params: { id: fc.uuid() },
        }),
      );
      expect(report.serverErrors).toBe(0);
      expect(await ownRows({ tenantId: account.tenant.id })).toEqual(before);
    },
    fuzzTimeout(),
  );
});
