// SECRET_KEY rotation (issue 16 item 4): rows sealed under the previous key keep working after
// the switch (TOTP sign-in, token signing, the SMTP password, the audit chain), the cron reseals
// them over several ticks within an invocation's 50 subrequests, and nothing is lost on the way.
// Runs against a database of its own: a rotation reseals every row, other files' rows included.
import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../../src/db/client.ts';
import { cryptoRandom } from '../../../src/deps.ts';
import { loadConfig, rootKeysOf, validateEnv, type Config } from '../../../src/env.ts';
import { createPasswordHasher, newSalt } from '../../../src/features/accounts/password.ts';
import { GLOBAL_CHAIN, sealChain, verifyChain } from '../../../src/features/audit/service.ts';
import { SEALED } from '../../../src/features/backup/tables.ts';
import {
  openSMTPPassword,
  sealSMTPPassword,
  smtpPasswordContext,
  storeSMTPPassword,
} from '../../../src/features/mail/repo.ts';
import { decodeTOTPSecret } from '../../../src/features/mfa/totp.ts';
import { SEALED_COLUMNS } from '../../../src/features/secrets/columns.ts';
import { RESEAL_ROUND_TRIPS, runSecretRotation } from '../../../src/features/secrets/scheduled.ts';
import { resealTick, rotationStatus } from '../../../src/features/secrets/service.ts';
import { createTenant } from '../../../src/features/tenants/service.ts';
import { decodeBase64, encodeBase64url, utf8 } from '../../../src/lib/encoding.ts';
import {
  KEY_PURPOSE,
  deriveHMACKey,
  deriveKeyBytes,
  seal,
  secretKeyId,
} from '../../../src/lib/keys.ts';
import worker from '../../../src/index.ts';
import { CookieJar, uniqueEmail, uniqueSlug } from '../fixtures.ts';
import { jsonRequest, send, testEnv, withinInvocationLimits, type TestEnv } from '../harness.ts';
import { mailSettings } from '../email/helpers.ts';
import { ManualClock, PASSWORD, codeAt } from '../mfa/helpers.ts';

const OLD_KEY = testEnv.SECRET_KEY!;
const NEW_KEY = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
const DATABASE_URL = testEnv.TEST_ROTATION_DATABASE_URL;
/** Bulk password rows: more than one tick reseals (two batches of 250 a tick). */
const BULK_USERS = 1600;
const BULK_PREFIX = uniqueSlug('bulk');

const phase = {
  before: { DATABASE_URL },
  during: { DATABASE_URL, SECRET_KEY: NEW_KEY, SECRET_KEY_PREVIOUS: OLD_KEY },
  after: { DATABASE_URL, SECRET_KEY: NEW_KEY },
} satisfies Record<string, Partial<TestEnv>>;
type Phase = keyof typeof phase;
const envs = Object.fromEntries(
  Object.entries(phase).map(([name, extra]) => [name, { ...testEnv, ...extra }]),
) as Record<Phase, TestEnv>;

function configOf(name: Phase): Config {
  const result = loadConfig(envs[name]);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

let db: Database;
let tenant: { id: string; slug: string; base: string };
let other: { id: string };
let user: { email: string; secret: Uint8Array };
let eventsUnderOldKey: number;

/** TOTP refuses a code's step twice: each sign-in happens one step (30 s) after the last. */
const clock = new ManualClock(new Date());
const call = (name: Phase, path: string, init: RequestInit = {}) =>
  send(path, init, { env: phase[name], app: { overrideDeps: () => ({ clock }) } });

/** Password, then TOTP: the whole second-factor sign-in. */
async function signInWithTOTP(name: Phase): Promise<CookieJar | number> {
  clock.advance(30);
  const login = await call(
    name,
    `${tenant.base}/v1/auth/login`,
    jsonRequest('POST', { email: user.email, password: PASSWORD }),
  );
  if (login.response.status !== 200) return login.response.status;
  expect(await login.roundTrips()).toBeLessThanOrEqual(2);
  const { mfa_token } = await login.json<{ mfa_token: string }>();
  const challenge = await call(
    name,
    `${tenant.base}/v1/auth/mfa/challenge`,
    jsonRequest('POST', { mfa_token, code: codeAt(user.secret, clock.now()) }),
  );
  if (challenge.response.status !== 200) return challenge.response.status;
  expect(await challenge.roundTrips()).toBeLessThanOrEqual(2);
  const jar = new CookieJar();
  jar.store(challenge.response);
  return jar;
}

/** An access token from the session, verified against the tenant's JWKS. */
async function verifiedAccessToken(name: Phase, jar: CookieJar): Promise<string> {
  const sent = await call(
    name,
    `${tenant.base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'session' }, jar.header()),
  );
  expect(sent.response.status).toBe(200);
  expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
  const { access_token } = await sent.json<{ access_token: string }>();
  const jwks = await (
    await call(name, `${tenant.base}/.well-known/jwks.json`)
  ).json<{
    keys: JWK[];
  }>();
  const issuer = `https://gatehouse.test/t/${tenant.slug}`;
  const { payload } = await jwtVerify(access_token, createLocalJWKSet(jwks), {
    issuer,
    audience: issuer,
    algorithms: ['ES256'],
  });
  return String(payload.email);
}

async function sealAll(secretKey: Uint8Array, chainId: string): Promise<void> {
  while ((await sealChain({ db, secretKey }, chainId)) > 0);
}

async function tick(name: Phase, at: Date): Promise<number> {
  const ctx = createExecutionContext();
  const { subrequests } = await withinInvocationLimits(async () => {
    await worker.scheduled(
      createScheduledController({ cron: '* * * * *', scheduledTime: at }),
      envs[name],
      ctx,
    );
    await waitOnExecutionContext(ctx);
  });
  return subrequests;
}

beforeAll(async () => {
  const old = configOf('before');
  db = createDatabase(old);
  const created = await createTenant(
    { db, secretKey: old.secretKey, random: cryptoRandom },
    { slug: uniqueSlug('rot'), name: 'Rotation' },
  );
  tenant = { id: created.id, slug: created.slug, base: `/t/${created.slug}` };
  other = await createTenant(
    { db, secretKey: old.secretKey, random: cryptoRandom },
    { slug: uniqueSlug('rot'), name: 'Rotation, v1 envelope' },
  );

  // A user with a password and TOTP, all sealed under the old key.
  const email = uniqueEmail();
  const registered = await call(
    'before',
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD }),
  );
  expect(registered.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(registered.response);
  const enrolled = await call(
    'before',
    `${tenant.base}/v1/auth/mfa/totp/enroll`,
    jsonRequest('POST', {}, jar.header()),
  );
  const secret = decodeTOTPSecret((await enrolled.json<{ secret: string }>()).secret);
  const verified = await call(
    'before',
    `${tenant.base}/v1/auth/mfa/totp/verify`,
    jsonRequest('POST', { code: codeAt(secret, clock.now()) }, jar.header()),
  );
  expect(verified.response.status).toBe(200);
  user = { email, secret };

  // The SMTP password; and one sealed as builds before key ids did (`v1`, no key id).
  await storeSMTPPassword(
    db,
    tenant.id,
    await sealSMTPPassword(old.secretKey, tenant.id, 'smtp-pw'),
  );
  const raw = await deriveKeyBytes(old.secretKey, KEY_PURPOSE.secretEncryption);
  const v1Key = await crypto.subtle.importKey('raw', raw as BufferSource, 'AES-GCM', false, [
    'encrypt',
  ]);
  const v1 = await seal(v1Key, utf8.encode('legacy-pw'), smtpPasswordContext(other.id));
  expect(v1).toMatch(/^v1\./);
  await storeSMTPPassword(db, other.id, v1);

  // An operator, and many users sharing one sealed hash (the seal is bound to no row).
  const hasher = createPasswordHasher(old.secretKey);
  const hash = await hasher.hash(PASSWORD, newSalt(cryptoRandom));
  await db.execute(sql`
    insert into operators (email, email_normalized, password_hash, role)
    values ('rot-op@example.com', ${uniqueEmail()}, ${hash}, 'owner')`);
  await db.execute(sql`
    insert into users (tenant_id, email, email_normalized, password_hash, created_at, updated_at)
    select ${tenant.id}::uuid, ${BULK_PREFIX} || n || '@example.com', ${BULK_PREFIX} || n || '@example.com',
      ${hash}, now(), now()
    from generate_series(1, ${BULK_USERS}) as n`);

  await sealAll(old.secretKey, tenant.id);
  await sealAll(old.secretKey, GLOBAL_CHAIN);
  const counted = await db.execute(
    sql`select count(*)::int as n from audit_events where tenant_id = ${tenant.id}::uuid and seq is not null`,
  );
  eventsUnderOldKey = Number(counted.rows[0]?.n);
  expect(eventsUnderOldKey).toBeGreaterThan(0);
}, 60_000);

describe('SECRET_KEY_PREVIOUS', () => {
  it('is validated as SECRET_KEY is, and must differ from it', () => {
    const base = {
      PUBLIC_BASE_URL: 'https://a.test',
      DATABASE_URL: 'postgres://h/d',
      ENVIRONMENT: 'test',
    };
    const problems = (previous: string) => {
      const result = validateEnv({ ...base, SECRET_KEY: NEW_KEY, SECRET_KEY_PREVIOUS: previous });
      return result.ok ? [] : result.problems.map((p) => p.setting);
    };
    expect(problems(OLD_KEY)).toEqual([]);
    expect(problems(NEW_KEY)).toEqual(['SECRET_KEY_PREVIOUS']);
    expect(problems(encodeBase64url(new Uint8Array(31)))).toEqual(['SECRET_KEY_PREVIOUS']);
    expect(problems('not base64!')).toEqual(['SECRET_KEY_PREVIOUS']);
  });
});

describe('after the switch, before any reseal', () => {
  it('refuses the old rows with the new key alone (what the previous key is for)', async () => {
    expect(await signInWithTOTP('after')).toBe(401);
  });

  it('signs in with password and TOTP sealed under the previous key, and signs tokens with its signing key', async () => {
    const jar = await signInWithTOTP('during');
    expect(jar).toBeInstanceOf(CookieJar);
    expect(await verifiedAccessToken('during', jar as CookieJar)).toBe(user.email);
  });

  it('accepts an email sign-in code issued under the previous key (codes are not resealed)', async () => {
    const settings = { mail: mailSettings({ otp_sign_in_enabled: true }) };
    await db.execute(
      sql`update tenants set settings = settings || ${JSON.stringify(settings)}::jsonb where id = ${tenant.id}::uuid`,
    );
    const email = `${BULK_PREFIX}3@example.com`;
    const found = await db.execute(sql`select id from users where email_normalized = ${email}`);
    const userId = String(found.rows[0]?.id);
    const code = '246810';
    // As src/features/email/otp.ts hashes a code it mails, under the old key.
    const key = await deriveHMACKey(decodeBase64(OLD_KEY), KEY_PURPOSE.emailOTP);
    const mac = await crypto.subtle.sign(
      'HMAC',
      key,
      utf8.encode(`${tenant.id}:${userId}:${code}`),
    );
    await db.execute(sql`
      insert into email_otp_codes (user_id, tenant_id, code_hash, attempts, expires_at, created_at)
      values (${userId}::uuid, ${tenant.id}::uuid, ${encodeBase64url(new Uint8Array(mac))}, 0,
        now() + interval '10 minutes', now())`);
    const verify = (name: Phase) =>
      call(name, `${tenant.base}/v1/auth/email-otp/verify`, jsonRequest('POST', { email, code }));
    expect((await verify('after')).response.status).toBe(401);
    const accepted = await verify('during');
    expect(accepted.response.status).toBe(200);
    expect(await accepted.roundTrips()).toBeLessThanOrEqual(2);
  });

  it('opens the SMTP passwords, v1 envelopes included, and verifies the audit chain', async () => {
    const keys = rootKeysOf(configOf('during'));
    const row = await db.execute(
      sql`select id, smtp_password_sealed as s from tenants where id in (${tenant.id}::uuid, ${other.id}::uuid)`,
    );
    const opened = new Map<string, string>();
    for (const r of row.rows)
      opened.set(String(r.id), await openSMTPPassword(keys, String(r.id), String(r.s)));
    expect(opened.get(tenant.id)).toBe('smtp-pw');
    expect(opened.get(other.id)).toBe('legacy-pw');
    // The new sign-in's events, sealed by the tick under the new key, follow the old ones.
    await sealAll(keys.current, tenant.id);
    const deps = { db, secretKey: keys.current, secretKeyPrevious: keys.previous };
    const verified = await verifyChain(deps, tenant.id);
    expect(verified).toMatchObject({ ok: true });
    expect(verified.checked).toBeGreaterThan(eventsUnderOldKey);
  });
});

describe('the reseal cron', () => {
  it('lists every column the backup codec opens (one list to extend)', () => {
    const listed = new Set(SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`));
    for (const [table, spec] of Object.entries(SEALED))
      expect(listed).toContain(`${table}.${spec.column}`);
  });

  it('costs no subrequest while no previous key is set', async () => {
    const { result, subrequests } = await withinInvocationLimits(() =>
      runSecretRotation(envs.before),
    );
    expect(result).toBeNull();
    expect(subrequests).toBe(0);
  });

  it('spends at most its share of the subrequests, and counts them as the harness does', async () => {
    const keys = rootKeysOf(configOf('during'));
    const { result, subrequests } = await withinInvocationLimits(() =>
      resealTick({ db, secretKeys: keys }, { maxRoundTrips: RESEAL_ROUND_TRIPS }),
    );
    expect(subrequests).toBe(result.roundTrips);
    expect(result.roundTrips).toBeLessThanOrEqual(RESEAL_ROUND_TRIPS);
    expect(result.resealed).toBeGreaterThan(0);
    expect(result.unopenable).toBe(0);
  });

  it('finishes over several ticks within 50 subrequests each, concurrent ticks included, and status reaches zero', async () => {
    const keys = rootKeysOf(configOf('during'));
    const start = await rotationStatus({ db, secretKeys: keys });
    expect(start.remaining).toBeGreaterThan(500);
    // Two ticks at once: each write is a compare-and-swap, so neither undoes the other.
    const [a, b] = await Promise.all([
      resealTick({ db, secretKeys: keys }, { maxRoundTrips: RESEAL_ROUND_TRIPS }),
      resealTick({ db, secretKeys: keys }, { maxRoundTrips: RESEAL_ROUND_TRIPS }),
    ]);
    expect(a.unopenable + b.unopenable).toBe(0);
    let ticks = 0;
    let remaining = (await rotationStatus({ db, secretKeys: keys })).remaining;
    expect(remaining).toBeLessThan(start.remaining);
    while (remaining > 0) {
      ticks += 1;
      expect(ticks).toBeLessThan(10);
      expect(await tick('during', new Date())).toBeLessThanOrEqual(50);
      const next = (await rotationStatus({ db, secretKeys: keys })).remaining;
      expect(next).toBeLessThan(remaining);
      remaining = next;
    }
    expect(ticks).toBeGreaterThanOrEqual(2);
    const done = await rotationStatus({ db, secretKeys: keys });
    expect(done.isAuditKeyRetired).toBe(true);
    expect(done.columns.every((c) => c.pending === 0)).toBe(true);
    // Everything names the new key now.
    const kid = await secretKeyId(keys.current);
    const sealedValues = await db.execute(sql`
      select private_key as v from signing_keys union all select secret_sealed from mfa_totp
      union all select smtp_password_sealed from tenants where smtp_password_sealed is not null`);
    for (const row of sealedValues.rows) expect(String(row.v).startsWith(`v2.${kid}.`)).toBe(true);
    const users = await db.execute(
      sql`select count(*)::int as n from users where tenant_id = ${tenant.id}::uuid and strpos(password_hash, ${`$v2.${kid}.`}) > 0`,
    );
    expect(Number(users.rows[0]?.n)).toBe(BULK_USERS + 1);
  });

  it('leaves everything working with the previous key removed: TOTP sign-in, tokens, SMTP, audit chain', async () => {
    const jar = await signInWithTOTP('after');
    expect(jar).toBeInstanceOf(CookieJar);
    expect(await verifiedAccessToken('after', jar as CookieJar)).toBe(user.email);
    const newKey = decodeBase64(NEW_KEY);
    const stored = await db.execute(
      sql`select smtp_password_sealed as s from tenants where id = ${other.id}::uuid`,
    );
    expect(await openSMTPPassword(newKey, other.id, String(stored.rows[0]?.s))).toBe('legacy-pw');
    const bulk = await call(
      'after',
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email: `${BULK_PREFIX}7@example.com`, password: PASSWORD }),
    );
    expect(bulk.response.status).toBe(200);
    // Old links verify through the retired audit key, which only the new SECRET_KEY opens.
    await sealAll(newKey, tenant.id);
    const verified = await verifyChain({ db, secretKey: newKey }, tenant.id);
    expect(verified).toMatchObject({ ok: true });
    expect(verified.checked).toBeGreaterThan(eventsUnderOldKey);
    expect(await verifyChain({ db, secretKey: newKey }, GLOBAL_CHAIN)).toMatchObject({ ok: true });
    expect(
      (await rotationStatus({ db, secretKeys: { current: newKey, previous: null } })).remaining,
    ).toBe(0);
  });

  it('still catches an event edited under the old key', async () => {
    const newKey = decodeBase64(NEW_KEY);
    await db.execute(sql`
      update audit_events set ip = '203.0.113.9'
      where tenant_id = ${tenant.id}::uuid and seq = 1`);
    expect(await verifyChain({ db, secretKey: newKey }, tenant.id)).toMatchObject({
      ok: false,
      seq: 1,
      problem: 'edited',
    });
  });
});
