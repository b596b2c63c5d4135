// Issue 14: identity providers in the admin API — the snake_case contract, the client secret
// write-only and sealed under SECRET_KEY (opening to what was sent), validation that writes
// nothing, round trips, audit events — and the providers with their secrets carried through a
// bkp1 copy (sealed again, bound to the copy's provider id).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rootKeysOf } from '../../../src/env.ts';
import { startExport } from '../../../src/features/backup/export.ts';
import { importTenant } from '../../../src/features/backup/import.ts';
import { openText, providerSecretContext } from '../../../src/features/federation/secret.ts';
import { ADMIN, bearer, makeKey, makeOperator, testDeps } from '../admin/fixtures.ts';
import {
  PASSPHRASE,
  collect,
  kdf,
  pinnedSalt,
  streamOf,
} from '../backup/export-import-fixtures.ts';
import { makeTenant, testConfig, testDB, uniqueSlug, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';

let key: string;
beforeAll(async () => {
  key = (await makeKey(await makeOperator())).key;
});

function call(tenant: { slug: string }, method: string, path = '', body?: unknown) {
  const url = `${ADMIN}/tenants/${tenant.slug}/identity-providers${path}`;
  return send(
    url,
    body === undefined ? { method, headers: bearer(key) } : jsonRequest(method, body, bearer(key)),
  );
}

async function providerRows(tenantId: string): Promise<Record<string, unknown>[]> {
  const result = await testDB().execute(
    sql`select * from federation_providers where tenant_id = ${tenantId}::uuid order by created_at`,
  );
  return result.rows;
}

const SECRET = 'upstream-client-secret-0123456789';

describe('identity providers in the admin API', () => {
  it('creates an OIDC provider: secret write-only and sealed, callback URL answered, two round trips', async () => {
    const tenant = await makeTenant();
    const sent = await call(tenant, 'POST', '', {
      kind: 'oidc',
      name: 'okta',
      issuer: 'https://example.okta.com',
      client_id: 'abc',
      client_secret: SECRET,
      allowed_domains: ['Example.com'],
    });
    expect(sent.response.status).toBe(201);
    expect(await sent.roundTrips()).toBe(2); // the key, then the insert with its audit event
    const text = JSON.stringify(await sent.json());
    expect(text).not.toContain(SECRET);
    expect(await sent.json()).toMatchObject({
      provider: {
        name: 'okta',
        kind: 'oidc',
        enabled: true,
        issuer: 'https://example.okta.com',
        client_id: 'abc',
        client_secret_set: true,
        scopes: ['openid', 'email', 'profile'],
        email_claim: 'email',
        trust_email_verified: true,
        allowed_domains: ['example.com'],
        callback_url: `https://gatehouse.test/t/${tenant.slug}/v1/auth/oauth/okta/callback`,
      },
    });
    const [row] = await providerRows(tenant.id);
    expect(String(row!.client_secret_sealed)).toMatch(/^v2\./);
    expect(JSON.stringify(row)).not.toContain(SECRET);
    const opened = await openText(
      rootKeysOf(testConfig()),
      String(row!.client_secret_sealed),
      providerSecretContext(String(row!.id)),
    );
    expect(opened).toBe(SECRET);

    const listed = await call(tenant, 'GET');
    expect(JSON.stringify(await listed.json())).not.toContain(SECRET);
    expect(await listed.roundTrips()).toBe(2);
    const audit = await testDB().execute(
      sql`select type, details from audit_events where tenant_id = ${tenant.id}::uuid`,
    );
    expect(audit.rows.map((r) => r.type)).toEqual(['admin.federation_provider.created']);
    expect(JSON.stringify(audit.rows)).not.toContain(SECRET);
  });

  it('google and github are named after their kind and take no issuer', async () => {
    const tenant = await makeTenant();
    const google = await call(tenant, 'POST', '', {
      kind: 'google',
      client_id: 'g',
      client_secret: 's',
    });
    expect(google.response.status).toBe(201);
    expect(await google.json()).toMatchObject({
      provider: { name: 'google', issuer: null, scopes: ['openid', 'email', 'profile'] },
    });
    const twice = await call(tenant, 'POST', '', {
      kind: 'google',
      client_id: 'g',
      client_secret: 's',
    });
    expect(twice.response.status).toBe(409);
  });

  it('refuses bad registrations with 400 and writes nothing', async () => {
    const tenant = await makeTenant();
    const bad: unknown[] = [
      { kind: 'oidc', name: 'x', client_id: 'a', client_secret: 's' }, // no issuer
      { kind: 'oidc', name: 'x', issuer: 'ftp://idp.example', client_id: 'a', client_secret: 's' },
      {
        kind: 'oidc',
        name: 'x',
        issuer: 'https://idp.example/#f',
        client_id: 'a',
        client_secret: 's',
      },
      {
        kind: 'oidc',
        name: 'google',
        issuer: 'https://idp.example',
        client_id: 'a',
        client_secret: 's',
      },
      {
        kind: 'oidc',
        name: 'Bad Name',
        issuer: 'https://idp.example',
        client_id: 'a',
        client_secret: 's',
      },
      { kind: 'github', name: 'gh', client_id: 'a', client_secret: 's' },
      { kind: 'github', issuer: 'https://github.com', client_id: 'a', client_secret: 's' },
      { kind: 'oidc', name: 'x', issuer: 'https://idp.example', client_id: 'a' }, // no secret
      {
        kind: 'oidc',
        name: 'x',
        issuer: 'https://idp.example',
        client_id: 'a',
        client_secret: 's',
        allowed_domains: ['not a domain'],
      },
      { kind: 'saml', client_id: 'a', client_secret: 's' },
    ];
    for (const body of bad) {
      const sent = await call(tenant, 'POST', '', body);
      expect(sent.response.status, JSON.stringify(body)).toBe(400);
      expect((await sent.json<{ error: string }>()).error).toBe('invalid_request');
    }
    expect(await providerRows(tenant.id)).toEqual([]);
  });

  it('patches fields and rotates the secret; deletes; 404 for unknown names', async () => {
    const tenant = await makeTenant();
    await call(tenant, 'POST', '', {
      kind: 'oidc',
      name: 'corp',
      issuer: 'https://idp.example',
      client_id: 'a',
      client_secret: 'old-secret',
    });
    const patched = await call(tenant, 'PATCH', '/corp', {
      enabled: false,
      client_secret: 'new-secret',
      trust_email_verified: false,
    });
    expect(patched.response.status).toBe(200);
    expect(await patched.json()).toMatchObject({
      provider: { enabled: false, trust_email_verified: false },
    });
    const [row] = await providerRows(tenant.id);
    const opened = await openText(
      rootKeysOf(testConfig()),
      String(row!.client_secret_sealed),
      providerSecretContext(String(row!.id)),
    );
    expect(opened).toBe('new-secret');
    expect((await call(tenant, 'GET', '/nobody')).response.status).toBe(404);
    expect((await call(tenant, 'DELETE', '/corp')).response.status).toBe(200);
    expect(await providerRows(tenant.id)).toEqual([]);
    expect((await call(tenant, 'DELETE', '/corp')).response.status).toBe(404);
  });
});

describe('identity providers in bkp1 archives', () => {
  let tenant: TestTenant;
  beforeAll(async () => {
    tenant = await makeTenant();
    const created = await call(tenant, 'POST', '', {
      kind: 'oidc',
      name: 'corp',
      issuer: 'https://idp.example',
      client_id: 'a',
      client_secret: SECRET,
    });
    expect(created.response.status).toBe(201);
  });

  it('a copy under another slug carries the provider, its secret sealed again for the new id', async () => {
    const started = await startExport({ config: testConfig() }, tenant.slug, PASSPHRASE, {
      kdf,
      random: pinnedSalt,
    });
    const archive = await collect(started.archive);
    await started.done;
    const result = await importTenant(testDeps(), streamOf(archive), PASSPHRASE, {
      slug: uniqueSlug('copy'),
      actor: { type: 'system', id: 'test' },
      now: new Date(),
      kdf,
    });
    expect(result.rows.federation_providers).toBe(1);
    const [copied] = await providerRows(result.tenant.id);
    const [original] = await providerRows(tenant.id);
    expect(copied!.id).not.toBe(original!.id);
    expect(copied!.client_secret_sealed).not.toBe(original!.client_secret_sealed);
    const opened = await openText(
      rootKeysOf(testConfig()),
      String(copied!.client_secret_sealed),
      providerSecretContext(String(copied!.id)),
    );
    expect(opened).toBe(SECRET);
  }, 180_000);
});
