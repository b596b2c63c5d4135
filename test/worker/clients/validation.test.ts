// Issue 13: what a client registration may hold. Each refusal is a 400 invalid_request with a
// description and writes nothing (no client, no audit event); the production-only rules (https
// off the loopback) are checked through the service with a production config. Sources: RFC 6749
// §3.1.2 (absolute, no fragment), RFC 8252 §7.1 (private-use schemes), §7.3/§8.3 (loopback).
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppError } from '../../../src/errors.ts';
import { createClient, updateClient } from '../../../src/features/clients/admin/service.ts';
import { matchRedirectURI } from '../../../src/features/clients/repo.ts';
import { makeKey, makeOperator, testDeps } from '../admin/fixtures.ts';
import { testConfig, makeTenant, type TestTenant } from '../fixtures.ts';
import { targetOf } from '../rbac/fixtures.ts';
import {
  WEB_CLIENT,
  adminCall,
  clientCount,
  clientRow,
  oauthEvents,
  registerClient,
} from './fixtures.ts';

let key: string;
let tenant: TestTenant;

beforeAll(async () => {
  key = (await makeKey(await makeOperator())).key;
  tenant = await makeTenant();
});

const confidential = (changes: Record<string, unknown>) => ({ ...WEB_CLIENT, ...changes });
const publicClient = (changes: Record<string, unknown>) => ({
  name: 'Native',
  type: 'public',
  redirect_uris: ['http://127.0.0.1/cb'],
  ...changes,
});

const REFUSED: [string, Record<string, unknown>, string?][] = [
  ['a relative redirect URI', confidential({ redirect_uris: ['/callback'] })],
  ['a redirect URI with a fragment', confidential({ redirect_uris: ['https://a.example/cb#x'] })],
  ['an empty fragment', confidential({ redirect_uris: ['https://a.example/cb#'] })],
  ['userinfo', confidential({ redirect_uris: ['https://user:pw@a.example/cb'] })],
  ['userinfo without a password', confidential({ redirect_uris: ['https://evil@a.example/cb'] })],
  [
    'a URI over 2048 characters',
    confidential({ redirect_uris: [`https://a.example/${'x'.repeat(2040)}`] }),
  ],
  [
    '21 redirect URIs',
    confidential({ redirect_uris: Array.from({ length: 21 }, (_, i) => `https://a.example/${i}`) }),
  ],
  [
    'a duplicate redirect URI',
    confidential({ redirect_uris: ['https://a.example/cb', 'https://a.example/cb'] }),
  ],
  ['a space inside a URI', confidential({ redirect_uris: ['https://a.example/c b'] })],
  ['javascript:', publicClient({ redirect_uris: ['javascript:alert(1)'] })],
  ['data:', publicClient({ redirect_uris: ['data:text/html,hi'] })],
  [
    'a private-use scheme on a confidential client',
    confidential({ redirect_uris: ['com.example.app:/cb'] }),
  ],
  ['a private-use scheme without a dot', publicClient({ redirect_uris: ['myapp:/cb'] })],
  ['a bad post-logout URI', confidential({ post_logout_redirect_uris: ['https://a.example/#x'] })],
  [
    'client_credentials on a public client',
    publicClient({ grant_types: ['authorization_code', 'client_credentials'] }),
  ],
  ['refresh_token alone', confidential({ grant_types: ['refresh_token'] })],
  ['no grant type', confidential({ grant_types: [] })],
  ['an unknown grant type', confidential({ grant_types: ['password'] })],
  ['the code grant without a redirect URI', confidential({ redirect_uris: [] })],
  ['an upper-case scope', confidential({ scopes: ['OpenID'] })],
  ['a scope with a space', confidential({ scopes: ['read write'] })],
  ['a duplicate scope', confidential({ scopes: ['openid', 'openid'] })],
  ['an access token lifetime under 30 s', confidential({ access_token_ttl_seconds: 10 })],
  ['an ID token lifetime over a day', confidential({ id_token_ttl_seconds: 86_401 })],
  ['a refresh lifetime over a year', confidential({ refresh_token_ttl_seconds: 31_536_001 })],
  ['an empty name', confidential({ name: '  ' })],
  // The JSON text rule answers before the client rules do.
  ['a name with a control character', confidential({ name: 'a\u0007b' }), 'invalid_characters'],
  ['an unknown type', confidential({ type: 'trusted' })],
  ['an unknown field', confidential({ secret: 'mine' })],
];

describe('client registration refuses, with 400 invalid_request and nothing written,', () => {
  for (const [what, body, code = 'invalid_request'] of REFUSED) {
    it(what, async () => {
      const sent = await adminCall(key, tenant, 'POST', '', body);
      expect(sent.response.status).toBe(400);
      const answer = await sent.json<{ error: string; error_description: string }>();
      expect(answer.error).toBe(code);
      expect(answer.error_description.length).toBeGreaterThan(5);
    });
  }

  it('(and indeed nothing was written by any of them)', async () => {
    expect(await clientCount(tenant.id)).toBe(0);
    expect(await oauthEvents(tenant.id, 'oauth.client.created')).toEqual([]);
  });
});

describe('client registration accepts', () => {
  it('loopback http, private-use schemes for public clients, custom scopes, and any http outside production', async () => {
    const own = await makeTenant();
    const { client } = await registerClient(key, own, {
      name: 'Native',
      type: 'public',
      redirect_uris: [
        'com.example.app:/oauth2redirect',
        'http://127.0.0.1/cb',
        'http://[::1]:8080/cb',
        'http://localhost:3000/cb',
      ],
      scopes: ['openid', 'roles', 'billing:read', 'api.v2_write-all'],
    });
    expect(client.redirect_uris).toHaveLength(4);
    const dev = await registerClient(
      key,
      own,
      confidential({ redirect_uris: ['http://app.test/cb'] }),
    );
    expect(dev.client.redirect_uris).toEqual(['http://app.test/cb']);
    // A query and a comma are part of the URI, kept character for character.
    const odd = 'https://app.example.com/cb?a=1,2&b="q"';
    const kept = await registerClient(key, own, confidential({ redirect_uris: [odd] }));
    expect(kept.client.redirect_uris).toEqual([odd]);
    expect((await clientRow(kept.client.client_id))?.redirect_uris).toEqual([odd]);
    const got = await adminCall(key, own, 'GET', `/${kept.client.client_id}`);
    expect(
      (await got.json<{ client: { redirect_uris: string[] } }>()).client.redirect_uris,
    ).toEqual([odd]);
    expect(matchRedirectURI(kept.client.redirect_uris, odd)).toBe(true);
    expect(matchRedirectURI(kept.client.redirect_uris, 'https://app.example.com/cb?a=1,2')).toBe(
      false,
    );
  });

  it('a client_credentials-only confidential client with no redirect URI', async () => {
    const own = await makeTenant();
    const { client, client_secret } = await registerClient(key, own, {
      name: 'Batch job',
      type: 'confidential',
      grant_types: ['client_credentials'],
      scopes: ['reports:read'],
    });
    expect(client.redirect_uris).toEqual([]);
    expect(client_secret).not.toBeNull();
  });
});

describe('a patch is checked as the whole registration it makes', () => {
  it('refuses client_credentials on a public client, or emptying the redirect URIs of a code client, writing nothing', async () => {
    const own = await makeTenant();
    const { client } = await registerClient(key, own, publicClient({}));
    for (const body of [
      { grant_types: ['client_credentials'] },
      { redirect_uris: [] },
      { redirect_uris: ['https://a.example/#f'] },
    ]) {
      const sent = await adminCall(key, own, 'PATCH', `/${client.client_id}`, body);
      expect(sent.response.status, JSON.stringify(body)).toBe(400);
      expect(await sent.json()).toMatchObject({ error: 'invalid_request' });
    }
    const row = await clientRow(client.client_id);
    expect(row?.grant_types).toEqual(['authorization_code', 'refresh_token']);
    expect(row?.redirect_uris).toEqual(['http://127.0.0.1/cb']);
    expect(await oauthEvents(own.id, 'oauth.client.updated')).toEqual([]);
  });
});

describe('in production', () => {
  const production = () => testDeps({ config: { ...testConfig(), environment: 'production' } });

  it('only https, or http on 127.0.0.1, [::1] and localhost, is accepted', async () => {
    const own = await makeTenant();
    const target = targetOf(own);
    const input = {
      type: 'public' as const,
      name: 'Native',
      postLogoutRedirectURIs: [],
      grantTypes: ['authorization_code' as const],
      scopes: ['openid'],
      firstParty: false,
      accessTokenTTLSeconds: null,
      idTokenTTLSeconds: null,
      refreshTokenTTLSeconds: null,
    };
    const { client } = await createClient(production(), target, {
      ...input,
      redirectURIs: [
        'https://app.example.com/cb',
        'http://127.0.0.1/cb',
        'http://[::1]/cb',
        'http://localhost/cb',
        'com.example.app:/cb',
      ],
    });
    expect(client.redirectURIs).toHaveLength(5);
    for (const uri of [
      'http://app.example.com/cb',
      'http://127.0.0.2/cb',
      'http://localhost.evil.example/cb',
    ]) {
      await expect(
        createClient(production(), target, { ...input, redirectURIs: [uri] }),
        uri,
      ).rejects.toMatchObject({ code: 'invalid_request' } satisfies Partial<AppError>);
      await expect(
        updateClient(production(), target, client.clientId, { postLogoutRedirectURIs: [uri] }),
      ).rejects.toMatchObject({ code: 'invalid_request' });
    }
    expect(await clientCount(own.id)).toBe(1);
  });
});
