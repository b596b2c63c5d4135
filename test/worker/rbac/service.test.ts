// Roles, groups, attributes, claim mappers and organizations through their services: the rules
// each enforces, what a refused write leaves behind (nothing), and the audit event of each write.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import * as attributes from '../../../src/features/rbac/attributes-service.ts';
import { RESERVED_CLAIMS } from '../../../src/features/rbac/claims.ts';
import { groupMoveLockKey } from '../../../src/features/rbac/groups-repo.ts';
import * as groups from '../../../src/features/rbac/groups-service.ts';
import * as orgs from '../../../src/features/rbac/organizations-service.ts';
import * as roles from '../../../src/features/rbac/roles-service.ts';
import type { TenantTarget } from '../../../src/features/rbac/sql.ts';
import { makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { auditEvents, count, insertUser, rbacDeps, targetOf } from './fixtures.ts';

const deps = rbacDeps();
let tenant: TestTenant;
let other: TestTenant;
let target: TenantTarget;

beforeAll(async () => {
  [tenant, other] = await Promise.all([makeTenant(), makeTenant()]);
  target = targetOf(tenant);
});

describe('roles', () => {
  it('are created once per name, listed in a stable order with a total, renamed and deleted', async () => {
    const t = targetOf(await makeTenant());
    const created = [];
    for (const name of ['viewer', 'editor', 'admin'])
      created.push(await roles.createRole(deps, t, { name }));
    await expect(roles.createRole(deps, t, { name: 'editor' })).rejects.toMatchObject({
      code: 'conflict',
    });

    const first = await roles.listRoles(deps, t, { limit: 2, offset: 0 });
    const second = await roles.listRoles(deps, t, { limit: 2, offset: 2 });
    expect(first.total).toBe(3);
    expect(second.total).toBe(3);
    expect([...first.items, ...second.items].map((r) => r.id)).toEqual(created.map((r) => r.id));

    await expect(
      roles.updateRole(deps, t, created[0]!.id, { name: 'admin' }),
    ).rejects.toMatchObject({ code: 'conflict' });
    const renamed = await roles.updateRole(deps, t, created[0]!.id, {
      name: 'reader',
      description: 'reads',
    });
    expect(renamed).toMatchObject({ name: 'reader', description: 'reads' });
    expect(await roles.getRole(deps, t, created[0]!.id)).toMatchObject({ name: 'reader' });

    await roles.deleteRole(deps, t, created[0]!.id);
    await expect(roles.getRole(deps, t, created[0]!.id)).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(roles.deleteRole(deps, t, created[0]!.id)).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('refuse names that would not read as one token claim entry, writing nothing', async () => {
    const t = await makeTenant();
    for (const name of ['', 'has space', 'x'.repeat(65), '-leading', 'ümlaut']) {
      await expect(roles.createRole(deps, targetOf(t), { name })).rejects.toMatchObject({
        code: 'invalid_request',
      });
    }
    expect(await count('roles', t.id)).toBe(0);
  });

  it('of one tenant are invisible through another tenant, and a bound caller cannot reach another tenant', async () => {
    const role = await roles.createRole(deps, target, {
      name: `r-${crypto.randomUUID().slice(0, 8)}`,
    });
    await expect(roles.getRole(deps, targetOf(other), role.id)).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(roles.deleteRole(deps, targetOf(other), role.id)).rejects.toMatchObject({
      code: 'not_found',
    });
    const bound = targetOf(tenant, other.id);
    await expect(roles.getRole(deps, bound, role.id)).rejects.toMatchObject({
      code: 'unknown_tenant',
    });
    await expect(roles.listRoles(deps, bound, { limit: 10, offset: 0 })).rejects.toMatchObject({
      code: 'unknown_tenant',
    });
    await expect(roles.createRole(deps, bound, { name: 'sneaky' })).rejects.toMatchObject({
      code: 'unknown_tenant',
    });
    expect(await roles.getRole(deps, targetOf(tenant, tenant.id), role.id)).toMatchObject({
      id: role.id,
    });
  });

  it('are assigned to users of the same tenant only; removal of a missing assignment is 404', async () => {
    const role = await roles.createRole(deps, target, {
      name: `a-${crypto.randomUUID().slice(0, 8)}`,
    });
    const user = await insertUser(tenant);
    const stranger = await insertUser(other);
    await roles.assignRole(deps, target, user, role.id);
    await roles.assignRole(deps, target, user, role.id); // idempotent
    await expect(roles.assignRole(deps, target, stranger, role.id)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await roles.userRoles(deps, target, user)).direct.map((r) => r.id)).toEqual([role.id]);
    await roles.removeRole(deps, target, user, role.id);
    await expect(roles.removeRole(deps, target, user, role.id)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await roles.userRoles(deps, target, user)).direct).toEqual([]);
  });

  it('record one admin.* event per change, with the actor, and none for a refused write', async () => {
    const t = await makeTenant();
    const role = await roles.createRole(deps, targetOf(t), { name: 'audited' });
    await expect(roles.createRole(deps, targetOf(t), { name: 'audited' })).rejects.toMatchObject({
      code: 'conflict',
    });
    const events = await auditEvents(t.id, 'admin.role.created');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor_type: 'system',
      actor_id: 'rbac-test',
      target_type: 'role',
      target_id: role.id,
    });
    const user = await insertUser(t);
    await roles.assignRole(deps, targetOf(t), user, role.id);
    await roles.assignRole(deps, targetOf(t), user, role.id); // no change, no event
    expect(await auditEvents(t.id, 'admin.user_role.assigned')).toHaveLength(1);
    await roles.deleteRole(deps, targetOf(t), role.id);
    expect(await auditEvents(t.id, 'admin.role.deleted')).toHaveLength(1);
  });
});

describe('groups', () => {
  it('form a hierarchy; a move under itself or a descendant is refused and changes nothing', async () => {
    const t = targetOf(await makeTenant());
    const a = await groups.createGroup(deps, t, { name: 'A' });
    const b = await groups.createGroup(deps, t, { name: 'B', parentId: a.id });
    const c = await groups.createGroup(deps, t, { name: 'C', parentId: b.id });
    await expect(groups.updateGroup(deps, t, a.id, { parentId: c.id })).rejects.toMatchObject({
      code: 'group_cycle',
    });
    await expect(groups.updateGroup(deps, t, a.id, { parentId: b.id })).rejects.toMatchObject({
      code: 'group_cycle',
    });
    await expect(groups.updateGroup(deps, t, a.id, { parentId: a.id })).rejects.toMatchObject({
      code: 'group_cycle',
    });
    expect((await groups.getGroup(deps, t, a.id)).parentId).toBeNull();
    // Moving C to the root, then A under C, is fine: no cycle any more.
    await groups.updateGroup(deps, t, c.id, { parentId: null });
    expect((await groups.updateGroup(deps, t, a.id, { parentId: c.id })).parentId).toBe(c.id);
  });

  it('refuse a move that would close a cycle with another move still in flight', async () => {
    const tenantOfTest = await makeTenant();
    const t = targetOf(tenantOfTest);
    const x = await groups.createGroup(deps, t, { name: 'X' });
    const y = await groups.createGroup(deps, t, { name: 'Y' });
    // Another move (X under Y) holds the tenant's group-move lock and has not committed yet.
    const db = testDB();
    const inFlight = db.batch([
      db.execute(
        sql`select pg_advisory_xact_lock(hashtextextended(${groupMoveLockKey(tenantOfTest.slug)}, 0))`,
      ),
      db.execute(sql`update tenant_groups set parent_id = ${y.id}::uuid where id = ${x.id}::uuid`),
      db.execute(sql`select pg_sleep(0.4)`),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Checked against the state before that move, Y under X would pass; it must wait and see X under Y.
    const move = groups.updateGroup(deps, t, y.id, { parentId: x.id });
    await inFlight;
    await expect(move).rejects.toMatchObject({ code: 'group_cycle' });
    expect((await groups.getGroup(deps, t, y.id)).parentId).toBeNull();
  });

  it('refuse a parent of another tenant, a duplicate name, and deleting a group with children', async () => {
    const t = targetOf(await makeTenant());
    const foreign = await groups.createGroup(deps, targetOf(other), {
      name: `f-${crypto.randomUUID()}`,
    });
    await expect(
      groups.createGroup(deps, t, { name: 'kid', parentId: foreign.id }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    const parent = await groups.createGroup(deps, t, { name: 'parent' });
    await expect(groups.createGroup(deps, t, { name: 'parent' })).rejects.toMatchObject({
      code: 'conflict',
    });
    const child = await groups.createGroup(deps, t, { name: 'child', parentId: parent.id });
    await expect(groups.deleteGroup(deps, t, parent.id)).rejects.toMatchObject({
      code: 'conflict',
    });
    await groups.deleteGroup(deps, t, child.id);
    await groups.deleteGroup(deps, t, parent.id);
    expect((await groups.listGroups(deps, t, { limit: 50, offset: 0 })).total).toBe(0);
  });

  it('grant roles to members, through parent groups too', async () => {
    const t = await makeTenant();
    const tt = targetOf(t);
    const [direct, viaGroup, viaParent, unrelated] = await Promise.all(
      ['direct', 'via-group', 'via-parent', 'unrelated'].map((name) =>
        roles.createRole(deps, tt, { name }),
      ),
    );
    const parent = await groups.createGroup(deps, tt, { name: 'engineering' });
    const team = await groups.createGroup(deps, tt, { name: 'platform', parentId: parent.id });
    const user = await insertUser(t);
    await roles.assignRole(deps, tt, user, direct!.id);
    await groups.grantGroupRole(deps, tt, team.id, viaGroup!.id);
    await groups.grantGroupRole(deps, tt, parent.id, viaParent!.id);
    await groups.grantGroupRole(deps, tt, parent.id, direct!.id); // duplicates collapse
    await groups.addGroupMember(deps, tt, team.id, user);
    expect(unrelated).toBeDefined();

    const seen = await roles.userRoles(deps, tt, user);
    expect(seen.effective.roles).toEqual(['direct', 'via-group', 'via-parent']);
    expect(
      (await groups.groupMembers(deps, tt, team.id, { limit: 10, offset: 0 })).items.map(
        (m) => m.userId,
      ),
    ).toEqual([user]);
    expect((await groups.userGroups(deps, tt, user)).map((g) => g.id)).toEqual([team.id]);
    expect((await groups.groupRoles(deps, tt, parent.id)).map((r) => r.name)).toEqual([
      'direct',
      'via-parent',
    ]);

    await groups.removeGroupMember(deps, tt, team.id, user);
    expect((await roles.userRoles(deps, tt, user)).effective.roles).toEqual(['direct']);
    await expect(groups.removeGroupMember(deps, tt, team.id, user)).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});

describe('attributes and claim mappers', () => {
  it('store string values under lower-case keys, at most 1 KiB, refusing the rest unwritten', async () => {
    const t = await makeTenant();
    const user = await insertUser(t);
    await attributes.setAttribute(deps, targetOf(t), user, 'department', 'R&D');
    await attributes.setAttribute(deps, targetOf(t), user, 'department', 'Research');
    await attributes.setAttribute(deps, targetOf(t), user, 'level', 'é'.repeat(512)); // 1024 bytes
    for (const key of ['Department', '1st', 'a-b', 'x'.repeat(65)]) {
      await expect(
        attributes.setAttribute(deps, targetOf(t), user, key, 'v'),
      ).rejects.toMatchObject({ code: 'invalid_request' });
    }
    await expect(
      attributes.setAttribute(deps, targetOf(t), user, 'big', 'é'.repeat(513)),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(await attributes.userAttributes(deps, targetOf(t), user)).toEqual({
      department: 'Research',
      level: 'é'.repeat(512),
    });
    await attributes.deleteAttribute(deps, targetOf(t), user, 'level');
    await expect(
      attributes.deleteAttribute(deps, targetOf(t), user, 'level'),
    ).rejects.toMatchObject({ code: 'not_found' });
    expect(await count('user_attributes', t.id)).toBe(1);
  });

  it('refuse every reserved claim name, in any case, and write nothing', async () => {
    const t = await makeTenant();
    for (const claimName of [...RESERVED_CLAIMS, 'SUB', 'Roles', 'Email_Verified']) {
      await expect(
        attributes.createClaimMapper(deps, targetOf(t), {
          attributeKey: 'x',
          claimName,
          accessToken: true,
          idToken: false,
        }),
      ).rejects.toMatchObject({ code: 'reserved_claim' });
    }
    const mapper = await attributes.createClaimMapper(deps, targetOf(t), {
      attributeKey: 'department',
      claimName: 'dept',
      accessToken: true,
      idToken: false,
    });
    await expect(
      attributes.updateClaimMapper(deps, targetOf(t), mapper.id, { claimName: 'sub' }),
    ).rejects.toMatchObject({
      code: 'reserved_claim',
    });
    expect(await count('claim_mappers', t.id)).toBe(1);
    expect((await attributes.getClaimMapper(deps, targetOf(t), mapper.id)).claimName).toBe('dept');
  });

  it('map one source per claim and always target at least one token', async () => {
    const t = targetOf(await makeTenant());
    const mapper = await attributes.createClaimMapper(deps, t, {
      attributeKey: 'department',
      claimName: 'https://example.com/dept',
      accessToken: true,
      idToken: true,
    });
    await expect(
      attributes.createClaimMapper(deps, t, {
        attributeKey: 'team',
        claimName: 'https://example.com/dept',
        accessToken: true,
        idToken: false,
      }),
    ).rejects.toMatchObject({ code: 'conflict' });
    await expect(
      attributes.createClaimMapper(deps, t, {
        attributeKey: 'team',
        claimName: 'team',
        accessToken: false,
        idToken: false,
      }),
    ).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(
      attributes.updateClaimMapper(deps, t, mapper.id, { accessToken: false, idToken: false }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(
      await attributes.updateClaimMapper(deps, t, mapper.id, { idToken: false }),
    ).toMatchObject({ accessToken: true, idToken: false });
    const listing = await attributes.listClaimMappers(deps, t, { limit: 10, offset: 0 });
    expect(listing.total).toBe(1);
    await attributes.deleteClaimMapper(deps, t, mapper.id);
    expect((await attributes.listClaimMappers(deps, t, { limit: 10, offset: 0 })).total).toBe(0);
  });
});

describe('organizations', () => {
  it('are created, listed, renamed and deleted; members are added with a role, changed and removed', async () => {
    const t = await makeTenant();
    const tt = targetOf(t);
    const org = await orgs.createOrganization(deps, tt, { name: '  Acme  ' });
    expect(org).toMatchObject({ name: 'Acme', memberCount: 0 });
    const user = await insertUser(t);
    expect(await orgs.addMember(deps, tt, org.id, { userId: user, role: 'admin' })).toMatchObject({
      userId: user,
      role: 'admin',
    });
    await expect(
      orgs.addMember(deps, tt, org.id, { userId: user, role: 'member' }),
    ).rejects.toMatchObject({ code: 'conflict' });
    await expect(
      orgs.addMember(deps, tt, org.id, { userId: await insertUser(other), role: 'member' }),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(
      orgs.addMember(deps, tt, org.id, { userId: user, role: 'Not A Role' }),
    ).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(await orgs.changeMember(deps, tt, org.id, user, { role: 'member' })).toMatchObject({
      role: 'member',
    });
    expect(await orgs.renameOrganization(deps, tt, org.id, { name: 'Acme Ltd' })).toMatchObject({
      name: 'Acme Ltd',
      memberCount: 1,
    });
    const members = await orgs.organizationMembers(deps, tt, org.id, { limit: 10, offset: 0 });
    expect(members).toMatchObject({ total: 1, items: [{ userId: user, role: 'member' }] });
    await orgs.removeMember(deps, tt, org.id, user);
    await expect(orgs.removeMember(deps, tt, org.id, user)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await orgs.listOrganizations(deps, tt, { limit: 10, offset: 0 })).total).toBe(1);
    await orgs.deleteOrganization(deps, tt, org.id);
    await expect(orgs.getOrganization(deps, tt, org.id)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await auditEvents(t.id, 'admin.membership.added')).length).toBe(1);
  });
});
