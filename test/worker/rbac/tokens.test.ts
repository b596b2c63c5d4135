// Access tokens carry the user's effective roles (direct, through a group, through that group's
// parent) and the claims mapped from their attributes, read inside the queries the token
// endpoints already make: the round-trip budgets of issue 3 still hold.
import { sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import * as attributes from '../../../src/features/rbac/attributes-service.ts';
import * as groups from '../../../src/features/rbac/groups-service.ts';
import * as roles from '../../../src/features/rbac/roles-service.ts';
import { makeTenant, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { rbacDeps, signedUp, targetOf } from './fixtures.ts';

interface Tokens {
  access_token: string;
  refresh_token: string;
}

const deps = rbacDeps();
let tenant: TestTenant;
let team: string;
let directRoleId: string;

beforeAll(async () => {
  tenant = await makeTenant();
  const t = targetOf(tenant);
  const [direct, viaGroup, viaParent] = await Promise.all(
    ['zeta-direct', 'beta-group', 'alpha-parent'].map((name) =>
      roles.createRole(deps, t, { name }),
    ),
  );
  const parent = await groups.createGroup(deps, t, { name: 'engineering' });
  team = (await groups.createGroup(deps, t, { name: 'platform', parentId: parent.id })).id;
  await groups.grantGroupRole(deps, t, team, viaGroup!.id);
  await groups.grantGroupRole(deps, t, parent.id, viaParent!.id);
  await groups.grantGroupRole(deps, t, parent.id, direct!.id);
  await attributes.createClaimMapper(deps, t, {
    attributeKey: 'department',
    claimName: 'dept',
    accessToken: true,
    idToken: false,
  });
  await attributes.createClaimMapper(deps, t, {
    attributeKey: 'cost_center',
    claimName: 'https://example.com/cost_center',
    accessToken: true,
    idToken: true,
  });
  await attributes.createClaimMapper(deps, t, {
    attributeKey: 'nickname',
    claimName: 'nick',
    accessToken: false,
    idToken: true,
  });
  directRoleId = direct!.id;
  await send(`${tenant.base}/.well-known/jwks.json`); // first request per isolate checks the schema
});

async function exchange(
  jar: { header(): Record<string, string> },
  base = tenant.base,
): Promise<Tokens> {
  const sent = await send(
    `${base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'session' }, jar.header()),
  );
  expect(sent.response.status).toBe(200);
  expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
  return sent.json<Tokens>();
}

async function refresh(token: string): Promise<Tokens> {
  const sent = await send(
    `${tenant.base}/v1/auth/token`,
    jsonRequest('POST', { grant_type: 'refresh_token', refresh_token: token }),
  );
  expect(sent.response.status).toBe(200);
  expect(await sent.roundTrips()).toBeLessThanOrEqual(2);
  return sent.json<Tokens>();
}

describe('access token roles and mapped claims', () => {
  it('carry direct roles, roles through a group and through its parent, sorted, and mapped attributes', async () => {
    const { jar, userId } = await signedUp(tenant);
    const t = targetOf(tenant);
    await roles.assignRole(deps, t, userId, directRoleId);
    await groups.addGroupMember(deps, t, team, userId);
    await attributes.setAttribute(deps, t, userId, 'department', 'Research');
    await attributes.setAttribute(deps, t, userId, 'cost_center', 'CC-42');
    await attributes.setAttribute(deps, t, userId, 'nickname', 'Ace'); // mapped to the ID token only
    await attributes.setAttribute(deps, t, userId, 'private_note', 'not mapped');

    const claims = decodeJwt((await exchange(jar)).access_token);
    expect(claims.sub).toBe(userId);
    expect(claims.roles).toEqual(['alpha-parent', 'beta-group', 'zeta-direct']);
    expect(claims.dept).toBe('Research');
    expect(claims['https://example.com/cost_center']).toBe('CC-42');
    expect(claims).not.toHaveProperty('nick');
    expect(claims).not.toHaveProperty('private_note');
    expect(claims).not.toHaveProperty('nickname');
  });

  it('are read afresh on every refresh: a change shows in the next access token', async () => {
    const { jar, userId } = await signedUp(tenant);
    const t = targetOf(tenant);
    await groups.addGroupMember(deps, t, team, userId);
    await attributes.setAttribute(deps, t, userId, 'department', 'Sales');
    const first = await exchange(jar);
    expect(decodeJwt(first.access_token)).toMatchObject({
      roles: ['alpha-parent', 'beta-group', 'zeta-direct'],
      dept: 'Sales',
    });

    const same = await refresh(first.refresh_token);
    expect(decodeJwt(same.access_token)).toMatchObject({
      roles: ['alpha-parent', 'beta-group', 'zeta-direct'],
      dept: 'Sales',
    });

    await groups.removeGroupMember(deps, t, team, userId);
    await attributes.deleteAttribute(deps, t, userId, 'department');
    const after = decodeJwt((await refresh(same.refresh_token)).access_token);
    expect(after.roles).toEqual([]);
    expect(after).not.toHaveProperty('dept');
  });

  it('carry an empty roles list for a user with none, and the session check stays one round trip', async () => {
    const { jar } = await signedUp(tenant);
    expect(decodeJwt((await exchange(jar)).access_token).roles).toEqual([]);
    const check = await send(`${tenant.base}/v1/auth/session`, { headers: jar.header() });
    expect(check.response.status).toBe(200);
    expect(await check.roundTrips()).toBe(1);
  });

  it('never let a mapped claim replace one the service sets, even if a reserved name reached the table', async () => {
    const own = await makeTenant();
    const { jar, userId } = await signedUp(own);
    // Bypass the service's refusal, as a row written before a name became reserved would be.
    await deps.db.execute(sql`
      insert into claim_mappers (tenant_id, attribute_key, claim_name, access_token, id_token)
      values (${own.id}::uuid, 'fake_sub', 'sub', true, false), (${own.id}::uuid, 'fake_roles', 'roles', true, false)`);
    await attributes.setAttribute(deps, targetOf(own), userId, 'fake_sub', 'someone-else');
    await attributes.setAttribute(deps, targetOf(own), userId, 'fake_roles', 'superuser');
    const claims = decodeJwt((await exchange(jar, own.base)).access_token);
    expect(claims.sub).toBe(userId);
    expect(claims.roles).toEqual([]);
  });
});
