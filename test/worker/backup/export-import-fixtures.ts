// Shared by the backup service tests: one real key derivation per test file (a pinned salt plus
// a memoising KDF), a tenant filled with a row in every registry table, and row dumps to compare.
import { sql } from 'drizzle-orm';
import { providerSecretContext, sealText } from '../../../src/features/federation/secret.ts';
import { expect } from 'vitest';
import { cryptoRandom, type Random } from '../../../src/deps.ts';
import { recordAuditEvent } from '../../../src/features/audit/events.ts';
import { sealSMTPPassword, storeSMTPPassword } from '../../../src/features/mail/repo.ts';
import { sealChain } from '../../../src/features/audit/service.ts';
import { TABLES, createSecretCodec, type Row } from '../../../src/features/backup/tables.ts';
import { encodeBase64url, encodeHex } from '../../../src/lib/encoding.ts';
import { KEY_PURPOSE, deriveAESKey, seal } from '../../../src/lib/keys.ts';
import { pbkdf2SHA256, type Pbkdf2SHA256 } from '../../../src/lib/pbkdf2.ts';
import {
  CookieJar,
  makeTenant,
  testConfig,
  testDB,
  uniqueEmail,
  type TestTenant,
} from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';

export const PASSPHRASE = 'a backup passphrase for tests';
export const PASSWORD = 'correct horse battery';

/** The real 600,000-iteration PBKDF2, remembered per input (~15 s each in local workerd). */
const derivations = new Map<string, Promise<Uint8Array>>();
export const kdf: Pbkdf2SHA256 = (password, salt, options) => {
  const id = `${encodeHex(password)}:${encodeHex(salt)}:${options.iterations}`;
  let key = derivations.get(id);
  if (key === undefined) {
    key = pbkdf2SHA256(password, salt, options);
    derivations.set(id, key);
  }
  return key;
};

const SALT = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
/** The writer asks for the salt (32 bytes), then the IV: the salt is pinned, the IV random. */
export const pinnedSalt: Random = {
  bytes: (length) => (length === 32 ? SALT.slice() : cryptoRandom.bytes(length)),
};

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      // Several chunks, as a network body arrives.
      for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
      controller.close();
    },
  });
}

/** A client_id shaped like a generated one (22 characters of base64url). */
export function oauthClientId(): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(16)));
}

export interface FilledTenant {
  tenant: TestTenant;
  email: string;
  userId: string;
  accessToken: string;
  /** The tenant's SMTP password (settings.mail), stored sealed. */
  smtpPassword: string;
}

/**
 * A tenant with rows in every table of the registry: a user registered over HTTP (user,
 * organization, membership, session, refresh token, audit events), an access token, and the rest
 * written directly (an OIDC grant too: a spent code and the refresh token that names it).
 */
export async function makeFilledTenant(): Promise<FilledTenant> {
  const tenant = await makeTenant({ hostnames: [`${crypto.randomUUID()}.example.test`] });
  const email = uniqueEmail();
  const registered = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD, organization_name: 'Backup Org' }),
  );
  expect(registered.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(registered.response);
  const userId = (await registered.json<{ user: { id: string } }>()).user.id;
  const token = await send(
    `${tenant.base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'session' }, jar.header()),
  );
  expect(token.response.status).toBe(200);
  const { access_token: accessToken } = await token.json<{ access_token: string }>();

  const db = testDB();
  const t = tenant.id;
  await db.execute(sql`
    with role as (insert into roles (tenant_id, name) values (${t}, 'editor') returning id),
    parent as (insert into tenant_groups (tenant_id, name) values (${t}, 'staff') returning id),
    child as (
      insert into tenant_groups (tenant_id, name, parent_id) select ${t}, 'editors', id from parent returning id
    ),
    ur as (insert into user_roles (tenant_id, user_id, role_id) select ${t}, ${userId}, id from role),
    gm as (insert into group_members (tenant_id, group_id, user_id) select ${t}, id, ${userId} from child),
    gr as (insert into group_roles (tenant_id, group_id, role_id) select ${t}, child.id, role.id from child, role),
    ua as (insert into user_attributes (tenant_id, user_id, key, value) values (${t}, ${userId}, 'department', 'R&D "quoted"\nline')),
    cm as (
      insert into claim_mappers (tenant_id, attribute_key, claim_name, access_token, id_token)
      values (${t}, 'department', 'dept', true, false)
    ),
    lf as (
      insert into login_failures (user_id, tenant_id, failures, window_started_at)
      values (${userId}, ${t}, 2, now())
    ),
    client as (
      insert into oauth_clients (tenant_id, client_id, name, type, secret_hash, redirect_uris,
        post_logout_redirect_uris, grant_types, scopes, first_party, access_token_ttl_seconds,
        created_at, updated_at)
      values (${t}, ${oauthClientId()}, 'Backup "app"', 'confidential', ${crypto.randomUUID()},
        array['https://app.example/cb?a=1,2', 'com.example.app:/cb'], array['https://app.example/'],
        array['authorization_code', 'refresh_token'], array['openid', 'email', 'billing:read'], false, 300,
        now(), now())
      returning id
    ),
    consent as (
      insert into oauth_consents (tenant_id, user_id, client_id, scopes, granted_at, updated_at)
      select ${t}, ${userId}, id, array['openid', 'email'], now(), now() from client
    ),
    grant_code as (
      insert into oauth_codes (tenant_id, code_hash, client_id, user_id, session_id, redirect_uri,
        scopes, nonce, code_challenge, auth_time, amr, created_at, expires_at, used_at)
      select ${t}, ${crypto.randomUUID()}, client.id, ${userId}, s.id, 'https://app.example/cb?a=1,2',
        array['openid', 'offline_access'], 'n-0S6_WzA2Mj', null, now(), array['pwd'], now(),
        now() + interval '60 seconds', now()
      from client, sessions s where s.user_id = ${userId}::uuid
      limit 1
      returning id, session_id, client_id
    ),
    oidc_refresh as (
      insert into refresh_tokens (tenant_id, session_id, token_hash, created_at, expires_at,
        client_id, code_id, scopes)
      select ${t}, session_id, ${crypto.randomUUID()}, now(), now() + interval '1 day', client_id,
        id, array['openid', 'offline_access']
      from grant_code
    )
    insert into api_keys (name, key_hash, key_prefix, scopes, tenant_id, created_at)
    values ('bound', ${crypto.randomUUID()}, 'gh_test', array['users:read'], ${t}, now())`);
  const totpKey = await deriveAESKey(testConfig().secretKey, KEY_PURPOSE.secretEncryption);
  const totpSecret = await seal(totpKey, cryptoRandom.bytes(20), `mfa-totp:${t}:${userId}`);
  await db.execute(sql`
    with totp as (
      insert into mfa_totp (user_id, tenant_id, secret_sealed, confirmed_at, last_used_step, created_at)
      values (${userId}, ${t}, ${totpSecret}, now(), 12345, now())
    ),
    codes as (
      insert into mfa_recovery_codes (tenant_id, user_id, code_hash, created_at)
      values (${t}, ${userId}, ${crypto.randomUUID()}, now())
    ),
    otp as (
      insert into email_otp_codes (user_id, tenant_id, code_hash, attempts, expires_at, created_at)
      values (${userId}, ${t}, ${crypto.randomUUID()}, 1, now() + interval '10 minutes', now())
    ),
    tokens as (
      insert into mfa_tokens (id, tenant_id, user_id, token_hash, purpose, expires_at, created_at)
      values (gen_random_uuid(), ${t}, ${userId}, ${crypto.randomUUID()}, 'challenge', now() + interval '5 minutes', now())
    ),
    lockouts as (insert into mfa_lockouts (user_id, tenant_id, failures) values (${userId}, ${t}, 1)),
    keys as (
      insert into passkeys (id, tenant_id, user_id, credential_id, public_key, counter, transports, name, device_type, created_at)
      values (gen_random_uuid(), ${t}, ${userId}, ${crypto.randomUUID()}, 'pQECAyYgASFY', 7, array['usb', 'nfc'], 'Key', 'singleDevice', now())
    )
    insert into webauthn_challenges (id, tenant_id, user_id, challenge, purpose, expires_at, created_at)
    values (gen_random_uuid(), ${t}, ${userId}, ${crypto.randomUUID()}, 'registration', now() + interval '5 minutes', now())`);
  for (const type of ['security.login.succeeded', 'admin.user.updated'] as const) {
    await recordAuditEvent(db, {
      tenantId: t,
      type,
      actor: { type: 'user', id: userId },
      target: { type: 'user', id: userId },
      details: { note: 'written by the backup tests' },
      at: new Date(),
    });
  }
  // An upstream identity provider (secret sealed as the admin API seals it) and a linked identity.
  const providerId = crypto.randomUUID();
  const providerSecret = await sealText(
    testConfig().secretKey,
    `upstream-${crypto.randomUUID()}`,
    providerSecretContext(providerId),
  );
  await db.execute(sql`
    with fp as (
      insert into federation_providers (id, tenant_id, name, kind, issuer, client_id, client_secret_sealed,
        scopes, allowed_domains, created_at, updated_at)
      values (${providerId}::uuid, ${t}, 'corp', 'oidc', 'https://idp.example', 'backup-client', ${providerSecret},
        array['openid', 'email'], array['example.com'], now(), now())
      returning id
    )
    insert into federated_identities (id, tenant_id, user_id, provider_id, subject, email, created_at, last_used_at)
    select gen_random_uuid(), ${t}, ${userId}, fp.id, 'subject-1', ${email}, now(), null from fp`);
  const config = testConfig();
  const smtpPassword = `smtp-${crypto.randomUUID()}`;
  await storeSMTPPassword(db, t, await sealSMTPPassword(config.secretKey, t, smtpPassword));
  while ((await sealChain({ db, secretKey: config.secretKey }, t)) > 0);
  return { tenant, email, userId, accessToken, smtpPassword };
}

/**
 * Every row of the tenant in every registry table, as Postgres renders it, sorted; signing keys
 * with their private key opened (the sealed form differs by its random IV after a re-seal).
 */
export async function dumpTenant(tenantId: string): Promise<Record<string, string[]>> {
  const codec = createSecretCodec(testConfig().secretKey);
  const db = testDB();
  const dump: Record<string, string[]> = {};
  for (const spec of TABLES) {
    const result = await db.execute(
      sql`select to_jsonb(t) as r from ${sql.identifier(spec.name)} t where ${sql.identifier(spec.tenantColumn)} = ${tenantId}::uuid`,
    );
    const rows: string[] = [];
    for (const { r } of result.rows as { r: unknown }[]) {
      const row = (typeof r === 'string' ? JSON.parse(r) : r) as Row;
      rows.push(JSON.stringify(sortKeys(await codec.exportRow(spec.name, row))));
    }
    dump[spec.name] = rows.sort();
  }
  return dump;
}

function sortKeys(row: Row): Row {
  return Object.fromEntries(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Row counts of every registry table for a tenant id (all zero: nothing of it exists). */
export async function countTenantRows(tenantId: string): Promise<Record<string, number>> {
  const db = testDB();
  const counts: Record<string, number> = {};
  for (const spec of TABLES) {
    const result = await db.execute(
      sql`select count(*)::int as n from ${sql.identifier(spec.name)} where ${sql.identifier(spec.tenantColumn)} = ${tenantId}::uuid`,
    );
    counts[spec.name] = Number(result.rows[0]?.n);
  }
  return counts;
}

/** Deletes everything of a tenant: the tenant (its rows cascade) and the audit rows that outlive it. */
export async function wipeTenant(tenantId: string): Promise<void> {
  const db = testDB();
  await db.batch([
    db.execute(sql`delete from tenants where id = ${tenantId}::uuid`),
    db.execute(sql`delete from audit_events where tenant_id = ${tenantId}::uuid`),
    db.execute(sql`delete from audit_chains where chain_id = ${tenantId}::uuid`),
  ]);
}
