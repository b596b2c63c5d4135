// One tenant API family's fuzz test (end-user, MFA, passkeys, email): hostile requests with and
// without the suite account's session, no 5xx, and none of the tenant's rows changed. See run.ts.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RouteDoc } from '../../../src/http/openapi.ts';
import { requestFor } from './requests.ts';
import { familyRoutes, fuzzTimeout, runFamily } from './run.ts';
import { fuzzAccount, ownRows, type FuzzAccount } from './setup.ts';

/** What a family adds to the suite account: rows to meet, path values, more credentials. */
export interface FamilyExtras {
  params?: Record<string, fc.Arbitrary<string>>;
  validAuth?: Record<string, string>[];
}

export function describeTenantFamily(
  family: string,
  options: {
    inFamily: (route: RouteDoc) => boolean;
    minRoutes: number;
    prepare?: (account: FuzzAccount) => Promise<FamilyExtras>;
  },
): void {
  let account: FuzzAccount;
  let extras: FamilyExtras = {};

  beforeAll(async () => {
    account = await fuzzAccount();
    if (options.prepare !== undefined) extras = await options.prepare(account);
  });

  describe(`fuzz: ${family} routes`, () => {
    it(
      'answers every malformed request with a coded 4xx, never a 5xx, and writes no row',
      async () => {
        const routes = familyRoutes(options.inFamily);
        expect(routes.length).toBeGreaterThanOrEqual(options.minRoutes);
        const before = await ownRows({ tenantId: account.tenant.id });
        expect(Object.keys(before).length, 'tables in the snapshot').toBeGreaterThan(2);
        const report = await runFamily(
          family,
          requestFor(routes, {
            prefix: account.tenant.base,
            validAuth: [account.jar.header(), ...(extras.validAuth ?? [])],
            cookieName: account.cookieName,
            params: { id: fc.uuid(), ...extras.params },
          }),
        );
        expect(report.serverErrors).toBe(0);
        expect(await ownRows({ tenantId: account.tenant.id })).toEqual(before);
      },
      fuzzTimeout(),
    );
  });
}
