// Issue 6, item 6: every way an import is refused, each with its 4xx code and nothing written
// (rows counted in every registry table before and after); and a target newer than the archive
// accepts it, new columns taking their defaults.
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPECTED_SCHEMA_VERSION } from '../../../src/db/schema-version.ts';
import { AppError } from '../../../src/errors.ts';
import { startExport } from '../../../src/features/backup/export.ts';
import {
  readArchive,
  writeArchive,
  type ArchiveRecord,
} from '../../../src/features/backup/format.ts';
import { importTenant, type ImportOptions } from '../../../src/features/backup/import.ts';
import { TABLES } from '../../../src/features/backup/tables.ts';
import { testDeps } from '../admin/fixtures.ts';
import { testConfig, testDB } from '../fixtures.ts';
import {
  PASSPHRASE,
  collect,
  countTenantRows,
  kdf,
  makeFilledTenant,
  pinnedSalt,
  streamOf,
  wipeTenant,
  type FilledTenant,
} from './export-import-fixtures.ts';

const SLOW = 180_000;
const SEGMENT = 256;
const SEALED_SEGMENT = SEGMENT + 16;

let filled: FilledTenant;
/** Uncompressed, in 256-byte segments: many segments, so a late one can fail after inserts. */
let archive: Uint8Array;
let records: ArchiveRecord[];
let nothing: Record<string, number>;

beforeAll(async () => {
  filled = await makeFilledTenant();
  const started = await startExport({ config: testConfig() }, filled.tenant.slug, PASSPHRASE, {
    kdf,
    random: pinnedSalt,
    compression: 'none',
    segmentSize: SEGMENT,
  });
  archive = await collect(started.archive);
  await started.done;
  records = (await readArchive(archive, PASSPHRASE, { kdf })).records;
  await wipeTenant(filled.tenant.id);
  nothing = await countTenantRows(filled.tenant.id);
}, SLOW);

/** Imports; returns the error code and how many rows were inserted before the failure. */
async function refusal(
  bytes: Uint8Array,
  passphrase = PASSPHRASE,
  options: Partial<ImportOptions> = {},
): Promise<{ code: string; status: number; inserted: number; error: AppError }> {
  let inserted = 0;
  try {
    await importTenant(testDeps(), streamOf(bytes), passphrase, {
      actor: { type: 'system', id: 'test' },
      now: new Date(),
      kdf,
      batchRows: 1,
      onProgress: () => void inserted++,
      ...options,
    });
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    return { code: appError.code, status: appError.status, inserted, error: appError };
  }
  throw new Error('the import succeeded');
}

async function expectNothingWritten(): Promise<void> {
  expect(await countTenantRows(filled.tenant.id)).toEqual(nothing);
  const tenants = await testDB().execute(
    sql`select 1 from tenants where slug = ${filled.tenant.slug}`,
  );
  expect(tenants.rows).toHaveLength(0);
}

function rewrite(
  transform: (records: ArchiveRecord[]) => ArchiveRecord[],
  schemaVersion: number,
): Promise<Uint8Array> {
  return writeArchive(transform(records), {
    passphrase: PASSPHRASE,
    metadata: { schemaVersion, tenantSlug: filled.tenant.slug, exportedAt: new Date() },
    kdf,
    random: pinnedSalt,
    compression: 'none',
    segmentSize: SEGMENT,
  });
}

function headerLength(bytes: Uint8Array): number {
  return 52 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(4);
}

describe('an import that fails writes nothing', () => {
  it('starts from a tenant with rows in every table, now wiped', () => {
    expect(records.filter((record) => record.table === 'users')).toHaveLength(1);
    expect(new Set(records.map((record) => record.table)).size).toBe(TABLES.length);
    expect(Object.values(nothing).every((count) => count === 0)).toBe(true);
  });

  it(
    'refuses a wrong passphrase: 400 archive_decryption_failed',
    async () => {
      const result = await refusal(archive, 'not the passphrase it was written with');
      expect(result).toMatchObject({ code: 'archive_decryption_failed', status: 400, inserted: 0 });
      await expectNothingWritten();
    },
    SLOW,
  );

  it('refuses a passphrase under 16 characters: 400', async () => {
    expect(await refusal(archive, 'too short')).toMatchObject({
      code: 'archive_passphrase_too_short',
      status: 400,
    });
  });

  it('refuses bytes tampered in the last segment, after rows were inserted: 422 archive_corrupt', async () => {
    const tampered = archive.slice();
    tampered[tampered.length - 20]! ^= 0x01;
    const result = await refusal(tampered);
    expect(result).toMatchObject({ code: 'archive_corrupt', status: 422 });
    expect(result.inserted).toBeGreaterThan(10);
    await expectNothingWritten();
  });

  it('refuses a file cut at a segment boundary: 422 archive_truncated', async () => {
    const segments = Math.ceil((archive.length - headerLength(archive)) / SEALED_SEGMENT);
    const cut = archive.slice(0, headerLength(archive) + (segments - 1) * SEALED_SEGMENT);
    const result = await refusal(cut);
    expect(result).toMatchObject({ code: 'archive_truncated', status: 422 });
    expect(result.inserted).toBeGreaterThan(10);
    await expectNothingWritten();
  });

  it('refuses a file cut inside a segment: 422 archive_corrupt', async () => {
    const result = await refusal(archive.slice(0, archive.length - 7));
    expect(result).toMatchObject({ code: 'archive_corrupt', status: 422 });
    await expectNothingWritten();
  });

  it('refuses a file that is not bkp1: 400 archive_not_bkp1', async () => {
    const result = await refusal(
      new TextEncoder().encode('PK\u0003\u0004 a zip file, not an archive'),
    );
    expect(result).toMatchObject({ code: 'archive_not_bkp1', status: 400 });
    await expectNothingWritten();
  });

  it('rolls back a constraint violation found at the end: 422 archive_invalid_content', async () => {
    // The same user twice: the second insert breaks the primary key after everything before it.
    const user = records.find((record) => record.table === 'users')!;
    const last = records.findLastIndex((record) => record.table === 'users');
    const bytes = await rewrite(
      (all) => [...all.slice(0, last + 1), user, ...all.slice(last + 1)],
      EXPECTED_SCHEMA_VERSION,
    );
    const result = await refusal(bytes);
    expect(result).toMatchObject({ code: 'archive_invalid_content', status: 422 });
    expect(result.inserted).toBeGreaterThan(3);
    await expectNothingWritten();
  });

  it('refuses rows of another tenant smuggled into the archive', async () => {
    const bytes = await rewrite(
      (all) =>
        all.map((record) =>
          record.table === 'roles'
            ? { ...record, row: { ...record.row, tenant_id: crypto.randomUUID() } }
            : record,
        ),
      EXPECTED_SCHEMA_VERSION,
    );
    expect(await refusal(bytes)).toMatchObject({ code: 'archive_invalid_content', status: 422 });
    await expectNothingWritten();
  });

  it('refuses an archive from a newer schema: 422 schema_mismatch naming both versions', async () => {
    const bytes = await rewrite((all) => all, EXPECTED_SCHEMA_VERSION + 1);
    const result = await refusal(bytes);
    expect(result).toMatchObject({ code: 'schema_mismatch', status: 422, inserted: 0 });
    expect(result.error.extra).toEqual({
      archive_version: EXPECTED_SCHEMA_VERSION + 1,
      database_version: EXPECTED_SCHEMA_VERSION,
    });
    expect(result.error.message).toContain(String(EXPECTED_SCHEMA_VERSION + 1));
    expect(result.error.message).toContain(String(EXPECTED_SCHEMA_VERSION));
    await expectNothingWritten();
  });

  it(
    'refuses a slug that exists: 409',
    async () => {
      const other = await makeFilledTenant();
      const result = await refusal(archive, PASSPHRASE, { slug: other.tenant.slug });
      expect(result).toMatchObject({ code: 'conflict', status: 409, inserted: 0 });
      await expectNothingWritten();
    },
    SLOW,
  );
});

describe('an archive from an older schema', () => {
  it(
    'imports, the columns it lacks taking their defaults',
    async () => {
      // As if email_verified (default false) had been added after the archive was written.
      const bytes = await rewrite(
        (all) =>
          all.map((record) => {
            if (record.table !== 'users') return record;
            const row = { ...record.row };
            delete row.email_verified;
            return { ...record, row };
          }),
        EXPECTED_SCHEMA_VERSION - 1,
      );
      const result = await importTenant(testDeps(), streamOf(bytes), PASSPHRASE, {
        actor: { type: 'system', id: 'test' },
        now: new Date(),
        kdf,
      });
      expect(result.tenant.id).toBe(filled.tenant.id);
      const users = await testDB().execute(
        sql`select email_verified from users where tenant_id = ${filled.tenant.id}::uuid`,
      );
      expect(users.rows).toEqual([{ email_verified: false }]);
      await wipeTenant(filled.tenant.id);
    },
    SLOW,
  );
});
