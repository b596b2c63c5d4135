// First-owner bootstrap, against its own database (TEST_BOOTSTRAP_DATABASE_URL): "no owner yet"
// is deployment-wide state, so these tests must not share the database other files use.
import { sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../../src/db/client.ts';
import { cryptoRandom, type Clock } from '../../../src/deps.ts';
import { hashToken } from '../../../src/lib/keys.ts';
import { CODE_ALPHABET, normalizeCode } from '../../../src/features/operators/codes.ts';
import {
  BOOTSTRAP_CODE_TTL_SECONDS,
  issueBootstrapCode,
} from '../../../src/features/operators/bootstrap.ts';
import { CookieJar, testConfig, uniqueEmail, uniqueSlug } from '../fixtures.ts';
import { jsonRequest, send, testEnv, type SendOptions } from '../harness.ts';
import {
  awayFromWindowEdge,
  countingPasswords,
  uniqueIP,
  type HashCounts,
} from '../abuse/helpers.ts';
import { ADMIN, ALL_SCOPES, OPERATOR_PASSWORD, bearer, uniqueOperatorEmail } from './fixtures.ts';

const bootstrapURL = (testEnv as unknown as { TEST_BOOTSTRAP_DATABASE_URL: string })
  .TEST_BOOTSTRAP_DATABASE_URL;

function bootstrapDB(): Database {
  return createDatabase({ databaseURL: bootstrapURL, dev: testConfig().dev });
}

function on(options: { at?: Date } = {}): SendOptions {
  const send: SendOptions = { env: { DATABASE_URL: bootstrapURL } };
  if (options.at !== undefined) {
    const clock: Clock = { now: () => options.at! };
    send.app = { overrideDeps: () => ({ clock }) };
  }
  return send;
}

async function issue(options: { at?: Date; replace?: boolean } = {}) {
  const at = options.at ?? new Date();
  return issueBootstrapCode(
    { db: bootstrapDB(), clock: { now: () => at }, random: cryptoRandom },
    { replace: options.replace ?? false },
  );
}

async function issuedCode(at?: Date): Promise<string> {
  const result = await issue(at === undefined ? {} : { at });
  if (!result.issued) throw new Error(`no code issued: ${result.reason}`);
  return result.code;
}

const bootstrap = (body: unknown, options: SendOptions = on()) =>
  send(`${ADMIN}/bootstrap`, jsonRequest('POST', body), options);

async function count(
  table: 'operators' | 'bootstrap_codes' | 'operator_recovery_codes',
): Promise<number> {
  const result = await bootstrapDB().execute(
    sql`select count(*)::int as n from ${sql.identifier(table)}`,
  );
  return Number(result.rows[0]?.n);
}

beforeEach(async () => {
  // Back to a fresh deployment: no operator, no code (recovery codes and sessions cascade).
  await bootstrapDB().execute(
    sql`with k as (delete from api_keys), c as (delete from bootstrap_codes) delete from operators`,
  );
});

describe('bootstrap code', () => {
  it('is XXXX-XXXX-XXXX from the 32 look-alike-free symbols (60 bits) and stored only as its SHA-256', async () => {
    const code = await issuedCode();
    const symbol = `[${CODE_ALPHABET}]`;
    expect(code).toMatch(new RegExp(`^${symbol}{4}-${symbol}{4}-${symbol}{4}$`));
    expect(CODE_ALPHABET).toHaveLength(32);
    expect(CODE_ALPHABET).not.toMatch(/[ILOU]/);
    const rows = await bootstrapDB().execute(sql`select code_hash from bootstrap_codes`);
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0]!.code_hash).toBe(await hashToken(normalizeCode(code)));
    expect(String(rows.rows[0]!.code_hash)).not.toContain(code.replace(/-/g, ''));
  });

  it('is issued once: db:migrate issues nothing while a code is live; the CLI replaces it, voiding the old one', async () => {
    const first = await issuedCode();
    const again = await issue();
    expect(again).toMatchObject({ issued: false, reason: 'code_live' });
    const replaced = await issue({ replace: true });
    expect(replaced.issued).toBe(true);
    const old = await bootstrap({
      code: first,
      email: uniqueOperatorEmail(),
      password: OPERATOR_PASSWORD,
    });
    expect(old.response.status).toBe(400);
    expect(await old.json()).toMatchObject({ error: 'invalid_bootstrap_code' });
    expect(await count('operators')).toBe(0);
  });

  it('expires after 15 minutes (injected clock): accepted a second before, refused at the limit', async () => {
    const t0 = new Date('2026-11-23T10:00:00Z');
    const code = await issuedCode(t0);
    const limit = new Date(t0.getTime() + BOOTSTRAP_CODE_TTL_SECONDS * 1000);
    const late = await bootstrap(
      { code, email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
      on({ at: limit }),
    );
    expect(late.response.status).toBe(400);
    expect(await late.json()).toMatchObject({ error: 'invalid_bootstrap_code' });
    expect(await count('operators')).toBe(0);
    const inTime = await bootstrap(
      { code, email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
      on({ at: new Date(limit.getTime() - 1000) }),
    );
    expect(inTime.response.status).toBe(201);
  });

  it('creates the owner with 10 single-view recovery codes (stored hashed), and then closes for good', async () => {
    const code = await issuedCode();
    const email = uniqueOperatorEmail();
    const created = await bootstrap({ code, email, password: OPERATOR_PASSWORD });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('Cache-Control')).toBe('no-store');
    const body = await created.json<{
      operator: { role: string; email: string };
      recovery_codes: string[];
    }>();
    expect(body.operator).toMatchObject({ role: 'owner', email });
    expect(new Set(body.recovery_codes).size).toBe(10);
    const stored = await bootstrapDB().execute(sql`select code_hash from operator_recovery_codes`);
    expect(stored.rows.map((r) => r.code_hash).sort()).toEqual(
      (await Promise.all(body.recovery_codes.map((c) => hashToken(normalizeCode(c))))).sort(),
    );
    // Reusing the code, or any new one, is refused: an owner exists.
    const reuse = await bootstrap({
      code,
      email: uniqueOperatorEmail(),
      password: OPERATOR_PASSWORD,
    });
    expect(reuse.response.status).toBe(409);
    expect(await reuse.json()).toMatchObject({ error: 'bootstrap_closed' });
    expect(await issue({ replace: true })).toMatchObject({ issued: false, reason: 'owner_exists' });
    expect(await count('operators')).toBe(1);
    // The event is in the deployment-wide audit chain.
    const events = await bootstrapDB().execute(
      sql`select actor_type, tenant_id from audit_events where type = 'security.bootstrap.used'`,
    );
    expect(events.rows.at(-1)).toMatchObject({ actor_type: 'operator', tenant_id: null });
  });

  it('applies a raised OPERATOR_PASSWORD_MIN_LENGTH before consuming the code', async () => {
    const code = await issuedCode();
    const raised = { env: { ...on().env, OPERATOR_PASSWORD_MIN_LENGTH: '24' } };
    // OPERATOR_PASSWORD has 22 characters: enough by default, too short under 24.
    const short = await bootstrap(
      { code, email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
      raised,
    );
    expect(short.response.status).toBe(400);
    expect(await short.json()).toMatchObject({ error: 'password_too_short' });
    expect(await count('operators')).toBe(0);
    const long = await bootstrap(
      { code, email: uniqueOperatorEmail(), password: 'Quartz-Vivid-Harbor-Lantern-97' },
      raised,
    );
    expect(long.response.status).toBe(201);
  });

  it('draws on the operator sign-in budget of the address, before hashing anything', async () => {
    const ip = uniqueIP();
    await awayFromWindowEdge(60);
    // Ten failed operator sign-ins from one address spend its budget (10 a minute)...
    for (let i = 0; i < 10; i += 1) {
      const failed = await send(
        `${ADMIN}/auth/login`,
        jsonRequest(
          'POST',
          { email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
          { 'CF-Connecting-IP': ip },
        ),
        on(),
      );
      expect(failed.response.status).toBe(401);
    }
    // ...so a bootstrap from it, even with a live code, is refused before any hash or write.
    const code = await issuedCode();
    const counts: HashCounts = { hash: 0, verify: 0 };
    const refused = await send(
      `${ADMIN}/bootstrap`,
      jsonRequest(
        'POST',
        { code, email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
        { 'CF-Connecting-IP': ip },
      ),
      { ...on(), app: { overrideDeps: countingPasswords(counts) } },
    );
    expect(refused.response.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited' });
    expect(refused.response.headers.get('RateLimit-Policy')).toContain('"operator_auth.ip"');
    expect(counts.hash).toBe(0);
    expect(await count('operators')).toBe(0);
    // Another address still bootstraps with the same code.
    const other = await send(
      `${ADMIN}/bootstrap`,
      jsonRequest(
        'POST',
        { code, email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
        { 'CF-Connecting-IP': uniqueIP() },
      ),
      on(),
    );
    expect(other.response.status).toBe(201);
  });

  it('applies the operator password policy before consuming the code', async () => {
    const code = await issuedCode();
    const weak = await bootstrap({ code, email: uniqueOperatorEmail(), password: 'short-1A' });
    expect(await weak.json()).toMatchObject({ error: 'password_too_short' });
    const ok = await bootstrap({ code, email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD });
    expect(ok.response.status).toBe(201);
  });

  it('lets exactly one of 8 concurrent bootstraps win, with one code or with two', async () => {
    const code = await issuedCode();
    // A second live code, as if two were issued: the unique first-owner index still allows one.
    const other = 'ABCD-EFGH-JKMN';
    await bootstrapDB().execute(sql`insert into bootstrap_codes (code_hash, created_at, expires_at)
      values (${await hashToken(normalizeCode(other))}, now(), now() + interval '10 minutes')`);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        bootstrap({
          code: i % 2 === 0 ? code : other,
          email: uniqueOperatorEmail(),
          password: OPERATOR_PASSWORD,
        }),
      ),
    );
    const statuses = results.map((r) => r.response.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.every((s) => s === 201 || s === 400 || s === 409)).toBe(true);
    expect(await count('operators')).toBe(1);
    expect(await count('operator_recovery_codes')).toBe(10);
  });

  it('refuses malformed input without consuming the code', async () => {
    const code = await issuedCode();
    for (const body of [
      { code },
      { code, email: 'nope', password: OPERATOR_PASSWORD },
      { code: 5, email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD },
    ]) {
      const sent = await bootstrap(body);
      expect(sent.response.status).toBe(400);
      expect(await sent.json()).toMatchObject({ error: 'invalid_request' });
    }
    expect(
      (await bootstrap({ code, email: uniqueOperatorEmail(), password: OPERATOR_PASSWORD }))
        .response.status,
    ).toBe(201);
  });
});

describe('from nothing to an owner, an API key, a second tenant with a user', () => {
  it('takes a fresh deployment there with documented HTTP calls only', async () => {
    // 1. `npm run db:migrate` printed this code (the same function it calls).
    const code = await issuedCode();
    const email = uniqueOperatorEmail();
    expect(
      (await bootstrap({ code: code.toLowerCase(), email, password: OPERATOR_PASSWORD })).response
        .status,
    ).toBe(201);

    // 2. The owner signs in.
    const login = await send(
      `${ADMIN}/auth/login`,
      jsonRequest('POST', { email, password: OPERATOR_PASSWORD }),
      on(),
    );
    expect(login.response.status).toBe(200);
    const jar = new CookieJar();
    jar.store(login.response);

    // 3. An API key for automation.
    const created = await send(
      `${ADMIN}/api-keys`,
      jsonRequest('POST', { name: 'provisioning', scopes: ALL_SCOPES }, jar.header()),
      on(),
    );
    expect(created.response.status).toBe(201);
    const { key } = await created.json<{ key: string }>();

    // 4. A second tenant (the deployment's first was made by `npm run dev`), with a user.
    const slug = uniqueSlug('flow');
    const tenant = await send(
      `${ADMIN}/tenants`,
      jsonRequest('POST', { slug, name: 'Flow tenant' }, bearer(key)),
      on(),
    );
    expect(tenant.response.status).toBe(201);
    const userEmail = uniqueEmail();
    const user = await send(
      `${ADMIN}/tenants/${slug}/users`,
      jsonRequest(
        'POST',
        { email: userEmail, password: 'flow-password-42', email_verified: true },
        bearer(key),
      ),
      on(),
    );
    expect(user.response.status).toBe(201);

    // TODO(rbac, issue 4 item 4 — the other engineer's part): a role assigned to the user and a
    // claim mapper, then decode the access token below and find both in it.

    // 5. The user signs in on the tenant's own API.
    const signIn = await send(
      `/t/${slug}/v1/auth/login`,
      jsonRequest('POST', { email: userEmail, password: 'flow-password-42' }),
      on(),
    );
    expect(signIn.response.status).toBe(200);
  });
});
