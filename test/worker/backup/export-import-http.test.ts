// Issue 6, item 5: the admin endpoints. POST /tenants/{slug}/export streams the archive (scope
// backups:export), POST /tenants/import takes it as multipart/form-data (scope backups:import);
// both audited, short passphrases refused.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { testDB, uniqueSlug } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions } from '../harness.ts';
import { ADMIN, bearer, makeKey, makeOperator, type TestOperator } from '../admin/fixtures.ts';
import {
  PASSPHRASE,
  PASSWORD,
  kdf,
  makeFilledTenant,
  pinnedSalt,
  type FilledTenant,
} from './export-import-fixtures.ts';

const SLOW = 180_000;
/** The memoised KDF and a pinned salt: one real derivation for the whole file. */
const fast: SendOptions = {
  app: { overrideDeps: () => ({ archiveKDF: kdf, random: pinnedSalt }) },
};

let operator: TestOperator;
let filled: FilledTenant;
let archive: Uint8Array;

function importForm(bytes: Uint8Array, fields: Record<string, string>): FormData {
  const form = new FormData();
  form.set('file', new File([bytes], 'tenant.bkp1', { type: 'application/octet-stream' }));
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return form;
}

async function auditTypes(tenantId: string): Promise<string[]> {
  const result = await testDB().execute(
    sql`select type from audit_events where tenant_id = ${tenantId}::uuid order by created_at, id`,
  );
  return result.rows.map((row) => String(row.type));
}

beforeAll(async () => {
  operator = await makeOperator();
  filled = await makeFilledTenant();
}, SLOW);

describe('POST /admin/api/v1/tenants/{slug}/export', () => {
  it('needs the backups:export scope', async () => {
    const { key } = await makeKey(operator, { scopes: ['tenants:read'] });
    const sent = await send(
      `${ADMIN}/tenants/${filled.tenant.slug}/export`,
      jsonRequest('POST', { passphrase: PASSPHRASE }, bearer(key)),
    );
    expect(sent.response.status).toBe(403);
    expect(await sent.json()).toMatchObject({ error: 'insufficient_scope' });
  });

  it('refuses a passphrase under 16 characters', async () => {
    const { key } = await makeKey(operator, { scopes: ['backups:export'] });
    const sent = await send(
      `${ADMIN}/tenants/${filled.tenant.slug}/export`,
      jsonRequest('POST', { passphrase: 'fifteen chars!!' }, bearer(key)),
    );
    expect(sent.response.status).toBe(400);
    expect(await sent.json()).toMatchObject({ error: 'archive_passphrase_too_short' });
  });

  it('answers 404 for a tenant that does not exist', async () => {
    const { key } = await makeKey(operator, { scopes: ['backups:export'] });
    const sent = await send(
      `${ADMIN}/tenants/${uniqueSlug('none')}/export`,
      jsonRequest('POST', { passphrase: PASSPHRASE }, bearer(key)),
    );
    expect(sent.response.status).toBe(404);
  });

  it(
    'streams the archive as an attachment and records admin.tenant.exported',
    async () => {
      const { key, id } = await makeKey(operator, {
        scopes: ['backups:export'],
        tenant: filled.tenant.slug,
      });
      const sent = await send(
        `${ADMIN}/tenants/${filled.tenant.slug}/export`,
        jsonRequest('POST', { passphrase: PASSPHRASE }, bearer(key)),
        fast,
      );
      expect(sent.response.status).toBe(200);
      expect(sent.response.headers.get('Content-Type')).toBe('application/octet-stream');
      expect(sent.response.headers.get('Content-Disposition')).toMatch(
        new RegExp(`^attachment; filename="${filled.tenant.slug}-[0-9TZ-]+\\.bkp1"$`),
      );
      archive = new Uint8Array(await sent.response.arrayBuffer());
      expect(new TextDecoder().decode(archive.subarray(0, 4))).toBe('bkp1');
      const events = await testDB().execute(
        sql`select actor_type, actor_id from audit_events where tenant_id = ${filled.tenant.id}::uuid and type = 'admin.tenant.exported'`,
      );
      expect(events.rows).toEqual([{ actor_type: 'api_key', actor_id: id }]);
    },
    SLOW,
  );
});

describe('POST /admin/api/v1/tenants/import', () => {
  it('needs the backups:import scope, and a key not bound to one tenant', async () => {
    const { key } = await makeKey(operator, { scopes: ['backups:export'] });
    const form = importForm(archive, { passphrase: PASSPHRASE, slug: uniqueSlug('copy') });
    const sent = await send(`${ADMIN}/tenants/import`, {
      method: 'POST',
      body: form,
      headers: bearer(key),
    });
    expect(sent.response.status).toBe(403);
    const bound = await makeKey(operator, {
      scopes: ['backups:import'],
      tenant: filled.tenant.slug,
    });
    const again = await send(`${ADMIN}/tenants/import`, {
      method: 'POST',
      body: form,
      headers: bearer(bound.key),
    });
    expect([403, 404]).toContain(again.response.status);
  });

  it(
    'refuses the slug that exists with 409',
    async () => {
      const { key } = await makeKey(operator, { scopes: ['backups:import'] });
      const sent = await send(
        `${ADMIN}/tenants/import`,
        {
          method: 'POST',
          body: importForm(archive, { passphrase: PASSPHRASE }),
          headers: bearer(key),
        },
        fast,
      );
      expect(sent.response.status).toBe(409);
      expect(await sent.json()).toMatchObject({ error: 'conflict' });
    },
    SLOW,
  );

  it('refuses a short passphrase, and a body that is not multipart', async () => {
    const { key } = await makeKey(operator, { scopes: ['backups:import'] });
    const short = await send(`${ADMIN}/tenants/import`, {
      method: 'POST',
      body: importForm(archive, { passphrase: 'short' }),
      headers: bearer(key),
    });
    expect(short.response.status).toBe(400);
    expect(await short.json()).toMatchObject({ error: 'archive_passphrase_too_short' });
    const json = await send(
      `${ADMIN}/tenants/import`,
      jsonRequest('POST', { passphrase: PASSPHRASE }, bearer(key)),
    );
    expect(json.response.status).toBe(415);
  });

  it(
    'imports under a new slug: 201 with the tenant, audited, and its users sign in',
    async () => {
      const { key } = await makeKey(operator, { scopes: ['backups:import'] });
      const slug = uniqueSlug('copy');
      const sent = await send(
        `${ADMIN}/tenants/import`,
        {
          method: 'POST',
          body: importForm(archive, { passphrase: PASSPHRASE, slug }),
          headers: bearer(key),
        },
        fast,
      );
      expect(sent.response.status).toBe(201);
      const body = await sent.json<{
        tenant: { id: string; slug: string; name: string };
        mode: string;
      }>();
      expect(body).toMatchObject({ tenant: { slug, name: filled.tenant.name }, mode: 'copy' });
      expect(await auditTypes(body.tenant.id)).toContain('admin.tenant.imported');
      const login = await send(
        `/t/${slug}/v1/auth/login`,
        jsonRequest('POST', { email: filled.email, password: PASSWORD }),
      );
      expect(login.response.status).toBe(200);
    },
    SLOW,
  );
});
