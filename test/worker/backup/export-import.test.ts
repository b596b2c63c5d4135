// Issue 6: a tenant exported to bkp1, wiped and imported is the same tenant (same passwords, same
// ids so earlier access tokens verify, same audit chain, every row equal field by field); a copy
// under another slug gets new ids; the registry cannot miss a tenant table.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../../src/features/audit/service.ts';
import { startExport } from '../../../src/features/backup/export.ts';
import { importTenant } from '../../../src/features/backup/import.ts';
import { NOT_TENANT_DATA, TABLES } from '../../../src/features/backup/tables.ts';
import { loadTenantMail, openSMTPPassword } from '../../../src/features/mail/repo.ts';
import { encodeBase64url } from '../../../src/lib/encoding.ts';
import { testDeps } from '../admin/fixtures.ts';
import { testConfig, testDB, uniqueSlug } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import {
  PASSPHRASE,
  PASSWORD,
  collect,
  dumpTenant,
  kdf,
  makeFilledTenant,
  pinnedSalt,
  streamOf,
  wipeTenant,
  type FilledTenant,
} from './export-import-fixtures.ts';

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

describe('the table registry', () => {
  it('names every table with a tenant_id column, and every table it names exists', async () => {
    const result = await testDB().execute(sql`
      select table_name from information_schema.columns
      where table_schema = current_schema() and column_name = 'tenant_id'`);
    const withTenant = result.rows.map((row) => String(row.table_name));
    const known = new Set([...TABLES.map((table) => table.name), ...Object.keys(NOT_TENANT_DATA)]);
    expect(withTenant.filter((name) => !known.has(name))).toEqual([]);
    const tables = await testDB().execute(sql`
      select table_name from information_schema.tables where table_schema = current_schema()`);
    const existing = new Set(tables.rows.map((row) => String(row.table_name)));
    expect(TABLES.map((table) => table.name).filter((name) => !existing.has(name))).toEqual([]);
  });
});

describe('export, wipe, import under the same slug', () => {
  let filled: FilledTenant;
  let before: Record<string, string[]>;
  let archive: Uint8Array;

  beforeAll(async () => {
    filled = await makeFilledTenant();
    before = await dumpTenant(filled.tenant.id);
    archive = await exportBytes(filled.tenant.slug);
    await wipeTenant(filled.tenant.id);
  }, SLOW);

  it('has a row in every registry table to prove anything', () => {
    for (const table of TABLES) expect(before[table.name], table.name).not.toHaveLength(0);
  });

  it(
    'brings back every row field by field, and the audit chain still verifies',
    async () => {
      const result = await importTenant(testDeps(), streamOf(archive), PASSPHRASE, {
        actor,
        now: new Date(),
        kdf,
      });
      expect(result.mode).toBe('restore');
      expect(result.tenant.id).toBe(filled.tenant.id);
      const after = await dumpTenant(filled.tenant.id);
      const imported = (row: string) => row.includes('"admin.tenant.imported"');
      for (const table of TABLES) {
        if (table.name === 'audit_chains') continue;
        const rows = after[table.name]!.filter((row) => !imported(row));
        expect(rows, table.name).toEqual(before[table.name]);
      }
      expect(after.audit_events!.filter(imported)).toHaveLength(1);
      const chain = await verifyChain(
        { db: testDB(), secretKey: testConfig().secretKey },
        filled.tenant.id,
      );
      expect(chain).toMatchObject({ ok: true, unsealed: 0 });
      // The chain's head moved by exactly the import's own event.
      const head = JSON.parse(before.audit_chains![0]!) as { head_seq: number };
      expect(chain.ok && chain.headSeq).toBe(head.head_seq + 1);
    },
    SLOW,
  );

  it('lets the user log in with the old password', async () => {
    const sent = await send(
      `${filled.tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email: filled.email, password: PASSWORD }),
    );
    expect(sent.response.status).toBe(200);
  });

  it('verifies an access token issued before the export, with keys read from the restored rows', async () => {
    // Six minutes on: past this isolate's key cache, so the keys come from the database.
    const later = new Date(Date.now() + 6 * 60 * 1000);
    const sent = await send(
      `${filled.tenant.base}/v1/auth/session`,
      { headers: { Authorization: `Bearer ${filled.accessToken}` } },
      { app: { overrideDeps: () => ({ clock: { now: () => later } }) } },
    );
    expect(sent.response.status).toBe(200);
    expect(await sent.json()).toMatchObject({ user: { id: filled.userId } });
  });
});

describe('restore into a deployment with another SECRET_KEY', () => {
  it(
    'keeps password logins: hashes travel unsealed inside the archive and are sealed again under the target key',
    async () => {
      const filled = await makeFilledTenant();
      const archive = await exportBytes(filled.tenant.slug);
      const otherSecret = crypto.getRandomValues(new Uint8Array(32));
      const otherConfig = { ...testConfig(), secretKey: otherSecret };
      const slug = uniqueSlug('moved');
      const result = await importTenant(
        testDeps({ config: otherConfig }),
        streamOf(archive),
        PASSPHRASE,
        { slug, actor, now: new Date(), kdf },
      );
      const stored = await testDB().execute(
        sql`select password_hash from users
            where tenant_id = ${result.tenant.id}::uuid and email_normalized = lower(${filled.email})`,
      );
      const hash = String(stored.rows[0]?.password_hash);
      expect(hash).toMatch(/\$p=e1\$/);
      const mail = await loadTenantMail(testDB(), { id: result.tenant.id });
      expect(await openSMTPPassword(otherSecret, result.tenant.id, mail!.passwordSealed!)).toBe(
        filled.smtpPassword,
      );
      const loginWith = (secret: Uint8Array) =>
        send(
          `/t/${slug}/v1/auth/login`,
          jsonRequest('POST', { email: filled.email, password: PASSWORD }),
          {
            env: { SECRET_KEY: encodeBase64url(secret) },
          },
        );
      // The target deployment's key opens it; the source deployment's no longer does.
      expect((await loginWith(otherSecret)).response.status).toBe(200);
      expect((await loginWith(testConfig().secretKey)).response.status).toBe(401);
    },
    SLOW,
  );
});

describe('import under another slug', () => {
  it(
    'makes a copy with new ids, its own kid and sealed chain, leaving out sessions and keys',
    async () => {
      const filled = await makeFilledTenant();
      const archive = await exportBytes(filled.tenant.slug);
      const slug = uniqueSlug('copy');
      const result = await importTenant(testDeps(), streamOf(archive), PASSPHRASE, {
        slug,
        actor,
        now: new Date(),
        kdf,
      });
      expect(result.mode).toBe('copy');
      expect(result.tenant.slug).toBe(slug);
      expect(result.tenant.id).not.toBe(filled.tenant.id);
      const original = await dumpTenant(filled.tenant.id);
      const copy = await dumpTenant(result.tenant.id);
      for (const table of TABLES.filter(
        (spec) => spec.copy === 'keep' && spec.name !== 'audit_events',
      ).map((spec) => spec.name)) {
        expect(copy[table], table).toHaveLength(original[table]!.length);
      }
      for (const table of TABLES.filter(
        (spec) => spec.copy === 'skip' && spec.name !== 'audit_chains',
      ).map((spec) => spec.name)) {
        expect(copy[table], table).toEqual([]);
      }
      // No id of the original appears anywhere in the copy.
      const text = JSON.stringify(copy);
      for (const id of [filled.tenant.id, filled.userId]) expect(text).not.toContain(id);
      const [originalKey, copiedKey] = [original, copy].map(
        (dump) =>
          JSON.parse(dump.signing_keys![0]!) as {
            kid: string;
            private_key: string;
            public_jwk: { kid: string };
          },
      );
      expect(copiedKey!.kid).not.toBe(originalKey!.kid);
      expect(copiedKey!.public_jwk.kid).toBe(copiedKey!.kid);
      expect(copiedKey!.private_key).toBe(originalKey!.private_key);
      // The SMTP password travels opened and is sealed again, bound to the copy's id.
      const mail = await loadTenantMail(testDB(), { id: result.tenant.id });
      expect(mail!.passwordSealed).toMatch(/^v2\./);
      expect(
        await openSMTPPassword(testConfig().secretKey, result.tenant.id, mail!.passwordSealed!),
      ).toBe(filled.smtpPassword);
      // The group hierarchy survived the remap.
      const groups = copy.tenant_groups!.map(
        (row) => JSON.parse(row) as { id: string; parent_id: string | null },
      );
      const child = groups.find((group) => group.parent_id !== null)!;
      expect(groups.map((group) => group.id)).toContain(child.parent_id);

      const chain = await verifyChain(
        { db: testDB(), secretKey: testConfig().secretKey },
        result.tenant.id,
      );
      expect(chain).toMatchObject({ ok: true, unsealed: 0 });
      expect(chain.ok && chain.checked).toBe(copy.audit_events!.length);
      const login = await send(
        `/t/${slug}/v1/auth/login`,
        jsonRequest('POST', { email: filled.email, password: PASSWORD }),
      );
      expect(login.response.status).toBe(200);
      // The original is untouched.
      expect(await dumpTenant(filled.tenant.id)).toEqual(original);
    },
    SLOW,
  );
});
