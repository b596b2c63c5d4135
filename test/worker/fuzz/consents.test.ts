// Fuzz: the user consent API (/t/{slug}/v1/auth/consents*) with hostile requests, by session
// cookie and by bearer access token, against an account that has consented to a client.
import fc from 'fast-check';
import { expect } from 'vitest';
import { jsonRequest, send } from '../harness.ts';
import { fuzzClient } from './setup.ts';
import { describeTenantFamily } from './tenant-family.ts';

describeTenantFamily('consents', {
  inFamily: (r) => r.path.startsWith('/v1/auth/consents'),
  minRoutes: 2,
  async prepare(account) {
    const clientId = await fuzzClient(account);
    const token = await send(
      `${account.tenant.base}/v1/auth/token`,
      jsonRequest('POST', { grant_type: 'session' }, account.jar.header()),
    );
    expect(token.response.status).toBe(200);
    const { access_token: accessToken } = await token.json<{ access_token: string }>();
    return {
      params: { client_id: fc.constantFrom(clientId, 'AAAAAAAAAAAAAAAAAAAAAA') },
      validAuth: [{ Authorization: `Bearer ${accessToken}` }],
    };
  },
});
