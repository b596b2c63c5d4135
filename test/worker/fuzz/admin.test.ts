// Fuzz: the admin API (/admin/api/v1/*), with a valid API key or operator session and without.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../admin/fixtures.ts';
import { requestFor } from './requests.ts';
import { familyRoutes, fuzzTimeout, runFamily } from './run.ts';
import {
  fuzzAccount,
  fuzzClient,
  fuzzOperator,
  ownRows,
  type FuzzAccount,
  type FuzzOperator,
} from './setup.ts';

let account: FuzzAccount;
let admin: FuzzOperator;
let clientId: string;

beforeAll(async () => {
  [account, admin] = await Promise.all([fuzzAccount(), fuzzOperator()]);
  clientId = await fuzzClient(account);
});

describe('fuzz: admin routes', () => {
  it(
    'answers every malformed request with a coded 4xx, never a 5xx, and writes no row',
    async () => {
      const routes = familyRoutes(
        (r) => r.path.startsWith('/admin/api/v1/') && r.path !== '/admin/api/v1/tenants/import',
      );
      expect(routes.length).toBeGreaterThan(50);
      const owners = {
        tenantId: account.tenant.id,
        operatorId: admin.operator.id,
        keyId: admin.keyId,
      };
      const before = await ownRows(owners);
      expect(Object.keys(before).length, 'tables in the snapshot').toBeGreaterThan(2);
      const report = await runFamily(
        'admin',
        requestFor(routes, {
          prefix: '',
          validAuth: [bearer(admin.key), admin.operator.jar.header()],
          cookieName: admin.cookieName,
          params: {
            slug: fc.constantFrom(account.tenant.slug, 'no-such-tenant-fz'),
            // The tenant's client, one shaped like a client_id that names none, and junk.
            client_id: fc.constantFrom(clientId, 'AAAAAAAAAAAAAAAAAAAAAA', 'x'),
          },
        }),
      );
      expect(report.serverErrors).toBe(0);
      expect(await ownRows(owners)).toEqual(before);
    },
    fuzzTimeout(),
  );
});
