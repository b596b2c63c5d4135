// Issue 13: OAuth clients and consents travel in bkp1 archives. A restore keeps every client_id
// and secret working (the secret travels as its SHA-256); a copy under another slug gets new
// client_ids and no secrets; authorization codes are never exported.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { startExport } from '../../../src/features/backup/export.ts';
import { importTenant } from '../../../src/features/backup/import.ts';
import { findClient, verifyClientSecret } from '../../../src/features/clients/repo.ts';
import { makeKey, makeOperator, testDeps } from '../admin/fixtures.ts';
import { makeTenant, testConfig, testDB, uniqueSlug, type TestTenant } from '../fixtures.ts';
import { signedUp } from '../rbac/fixtures.ts';
import {
  PASSPHRASE,
  collect,
  kdf,
  pinnedSalt,
  streamOf,
  wipeTenant,
} from '../backup/export-import-fixtures.ts';
import { adminCall, registerClient, type ClientBody } from './fixtures.ts';

const SLOW = 180_000;
const actor = { type: 'system' as const, id: 'test' };

async function exportBytes(slug: string): Promise<Uint8Array> {
  const started = await startExport({ config: testConfig() }, slug, PASSPHRASE, {
    kdf,
    random: pinnedSalt,
  });
  const bytes = await collect(started.archive);
  await started.done;
  return bytes;
}

async function rows(table: string, tenantId: string): Promise<Record<string, unknown>[]> {
  const result = await testDB().execute(
    sql`select * from ${sql.identifier(table)} where tenant_id = ${tenantId}::uuid order by created_at`,
  );
  return result.rows;
}

async function consents(tenantId: string): Promise<Record<string, unknown>[]> {
  const result = await testDB().execute(sql`
    select x.user_id, x.client_id as client_internal_id, c.client_id, x.scopes
    from oauth_consents x join oauth_clients c on c.id = x.client_id
    where x.tenant_id = ${tenantId}::uuid`);
  return result.rows;
}

async function loadClient(slug: string, clientId: string) {
  return (await findClient(testDB(), { ref: { by: 'slug', slug }, tenant: null }, clientId))
    ?.client;
}

let key: string;
let tenant: TestTenant;
let userId: string;
let client: ClientBody;
let secret: string;
let archive: Uint8Array;

beforeAll(async () => {
  key = (await makeKey(await makeOperator())).key;
  tenant = await makeTenant();
  userId = (await signedUp(tenant)).userId;
  const registered = await registerClient(key, tenant, {
    name: 'Backed-up app',
    type: 'confidential',
    redirect_uris: ['https://app.example/cb?x=1,2'],
    post_logout_redirect_uris: ['https://app.example/bye'],
    scopes: ['openid', 'email', 'offline_access'],
    first_party: false,
    id_token_ttl_seconds: 600,
  });
  client = registered.client;
  secret = registered.client_secret!;
  await testDB().execute(sql`
    insert into oauth_consents (tenant_id, user_id, client_id, scopes, granted_at, updated_at)
    select ${tenant.id}::uuid, ${userId}::uuid, id, array['openid', 'email'], now(), now()
    from oauth_clients where client_id = ${client.client_id}`);
  // An authorization code: its row is also the grant OIDC refresh tokens name, so a restore
  // brings it back (a copy, like sessions, does not).
  await testDB().execute(sql`
    insert into oauth_codes (tenant_id, code_hash, client_id, user_id, session_id, redirect_uri, scopes,
      auth_time, created_at, expires_at)
    select ${tenant.id}::uuid, ${crypto.randomUUID()}, c.id, s.user_id, s.id, 'https://app.example/cb?x=1,2',
      array['openid'], now(), now(), now() + interval '60 seconds'
    from oauth_clients c, sessions s where c.client_id = ${client.client_id} and s.user_id = ${userId}::uuid
    limit 1`);
  archive = await exportBytes(tenant.slug);
}, SLOW);

describe('OAuth clients in a copy under another slug', () => {
  it(
    'get new client_ids and no secrets, keep every other field, and keep consents pointing at the copied client and user',
    async () => {
      const slug = uniqueSlug('copy');
      const result = await importTenant(testDeps(), streamOf(archive), PASSPHRASE, {
        slug,
        actor,
        now: new Date(),
        kdf,
      });
      expect(result.mode).toBe('copy');
      expect(result.rows.oauth_clients).toBe(1);
      expect(result.rows.oauth_consents).toBe(1);
      expect(result.rows.oauth_codes ?? 0).toBe(0);
      const [copied] = await rows('oauth_clients', result.tenant.id);
      expect(copied?.client_id).not.toBe(client.client_id);
      expect(String(copied?.client_id)).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(copied?.secret_hash).toBeNull();
      expect(copied).toMatchObject({
        name: 'Backed-up app',
        redirect_uris: ['https://app.example/cb?x=1,2'],
        post_logout_redirect_uris: ['https://app.example/bye'],
        scopes: ['openid', 'email', 'offline_access'],
        id_token_ttl_seconds: 600,
      });
      const [consent] = await consents(result.tenant.id);
      expect(consent?.client_id).toBe(copied?.client_id);
      expect(consent?.user_id).not.toBe(userId);
      expect(await rows('oauth_codes', result.tenant.id)).toEqual([]);
      // The copy answers to no secret until one is rotated in through the admin API.
      const copyClient = await loadClient(slug, String(copied?.client_id));
      expect(await verifyClientSecret(copyClient!, secret)).toBe(false);
      const rotated = await adminCall(
        key,
        { slug },
        'POST',
        `/${String(copied?.client_id)}/secret`,
      );
      expect(rotated.response.status).toBe(200);
      const fresh = (await rotated.json<{ client_secret: string }>()).client_secret;
      expect(
        await verifyClientSecret((await loadClient(slug, String(copied?.client_id)))!, fresh),
      ).toBe(true);
      // The original is untouched.
      expect(
        await verifyClientSecret((await loadClient(tenant.slug, client.client_id))!, secret),
      ).toBe(true);
    },
    SLOW,
  );
});

describe('OAuth clients through export, wipe and restore', () => {
  it(
    'come back with the same client_id and a secret that still verifies, with their consents and grants (codes)',
    async () => {
      const before = {
        clients: await rows('oauth_clients', tenant.id),
        consents: await consents(tenant.id),
        codes: await rows('oauth_codes', tenant.id),
      };
      expect(before.codes).toHaveLength(1);
      await wipeTenant(tenant.id);
      expect(await loadClient(tenant.slug, client.client_id)).toBeUndefined();
      const result = await importTenant(testDeps(), streamOf(archive), PASSPHRASE, {
        actor,
        now: new Date(),
        kdf,
      });
      expect(result.mode).toBe('restore');
      expect(await rows('oauth_clients', tenant.id)).toEqual(before.clients);
      expect(await consents(tenant.id)).toEqual(before.consents);
      expect(await rows('oauth_codes', tenant.id)).toEqual(before.codes);
      const restored = await loadClient(tenant.slug, client.client_id);
      expect(await verifyClientSecret(restored!, secret)).toBe(true);
      const got = await adminCall(key, tenant, 'GET', `/${client.client_id}`);
      expect(await got.json()).toEqual({ client });
    },
    SLOW,
  );
});
