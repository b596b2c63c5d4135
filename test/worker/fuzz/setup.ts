// The fuzz suite's own tenant, account and operator, and the row snapshot that proves a refused
// request wrote nothing: a count per table of the rows that belong to them (the test database is
// shared with files running in parallel, so only our own rows are counted).
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { CookieJar, makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { encodeBase64url } from '../../../src/lib/encoding.ts';
import { jsonRequest, send } from '../harness.ts';
import { makeKey, makeOperator, type TestOperator } from '../admin/fixtures.ts';

export const PASSWORD = 'fuzzing is fun 42';

export interface FuzzAccount {
  tenant: TestTenant;
  userId: string;
  email: string;
  jar: CookieJar;
  cookieName: string;
}

/** A tenant with no response floor (refusals need not sleep) and one signed-in account. */
export async function fuzzAccount(): Promise<FuzzAccount> {
  const tenant = await makeTenant({ settings: { credentialResponseFloorMs: 0 } });
  const email = uniqueEmail();
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD, name: 'Fuzz' }),
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  const [cookieName] = [...jar.cookies.keys()];
  const userId = (await sent.json<{ user: { id: string } }>()).user.id;
  return { tenant, userId, email, jar, cookieName: cookieName! };
}

/**
 * An OAuth client of the account's tenant that the account has consented to, so the client and
 * consent routes meet a real client_id (and a refused request has rows it could have changed).
 */
export async function fuzzClient(account: FuzzAccount): Promise<string> {
  const clientId = encodeBase64url(crypto.getRandomValues(new Uint8Array(16)));
  await testDB().execute(sql`
    with c as (
      insert into oauth_clients (tenant_id, client_id, name, type, secret_hash, redirect_uris,
        grant_types, scopes, created_at, updated_at)
      values (${account.tenant.id}::uuid, ${clientId}, 'Fuzz app', 'confidential', ${crypto.randomUUID()},
        array['https://fuzz.example/cb'], array['authorization_code'], array['openid'], now(), now())
      returning id
    )
    insert into oauth_consents (tenant_id, user_id, client_id, scopes, granted_at, updated_at)
    select ${account.tenant.id}::uuid, ${account.userId}::uuid, id, array['openid'], now(), now() from c`);
  return clientId;
}

export interface FuzzOperator {
  operator: TestOperator;
  key: string;
  keyId: string;
  cookieName: string;
}

export async function fuzzOperator(): Promise<FuzzOperator> {
  const operator = await makeOperator();
  const { key, id } = await makeKey(operator);
  const [cookieName] = [...operator.jar.cookies.keys()];
  return { operator, key, keyId: id, cookieName: cookieName! };
}

async function columnTables(column: string): Promise<string[]> {
  const result = await testDB().execute(sql`
    select table_name from information_schema.columns
    where table_schema = 'public' and column_name = ${column} order by table_name`);
  return result.rows.map((row) => String(row.table_name));
}

/** Rows per table that belong to the tenant, the operator or the operator's key. */
export async function ownRows(owners: {
  tenantId?: string;
  operatorId?: string;
  keyId?: string;
}): Promise<Record<string, number>> {
  const parts: ReturnType<typeof sql>[] = [];
  if (owners.tenantId !== undefined) {
    for (const table of await columnTables('tenant_id')) {
      parts.push(
        sql`select ${`${table}.tenant_id`} as t, count(*)::int as n from ${sql.identifier(table)} where tenant_id = ${owners.tenantId}::uuid`,
      );
    }
  }
  if (owners.operatorId !== undefined) {
    for (const table of await columnTables('operator_id')) {
      parts.push(
        sql`select ${`${table}.operator_id`} as t, count(*)::int as n from ${sql.identifier(table)} where operator_id = ${owners.operatorId}::uuid`,
      );
    }
    parts.push(
      sql`select 'api_keys.created_by' as t, count(*)::int as n from api_keys where created_by = ${owners.operatorId}::uuid`,
    );
    const actors = [owners.operatorId, owners.keyId ?? owners.operatorId];
    parts.push(
      sql`select 'audit_events.actor_id' as t, count(*)::int as n from audit_events where actor_id in (${actors[0]}, ${actors[1]})`,
    );
  }
  const result = await testDB().execute(sql.join(parts, sql` union all `));
  return Object.fromEntries(result.rows.map((row) => [String(row.t), Number(row.n)]));
}
