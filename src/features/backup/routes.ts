// Admin API: export a tenant as a bkp1 archive, import one, and see the scheduled backups.
import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { readJSON } from '../../http/json.ts';
import { assertCleanText } from '../../http/text.ts';
import { adminActor } from '../admin/audit.ts';
import { requireScope, type AdminEnv } from '../admin/auth.ts';
import { exportTenantByAdmin } from './admin-export.ts';
import { importTenant } from './import.ts';
import { listBackups, type StoredBackup } from './storage.ts';

/** The largest archive the import endpoint takes (Workers' request body limit on most plans). */
export const MAX_IMPORT_BYTES = 100 * 1024 * 1024;

const exportRequestSchema = z.object({ passphrase: z.string() });

export const backupRoutes = new Hono<AdminEnv>();

backupRoutes.post('/tenants/:slug/export', requireScope('backups:export'), async (c) => {
  const { passphrase } = await readJSON(c, exportRequestSchema);
  const exported = await exportTenantByAdmin(
    c.var.deps,
    c.req.param('slug'),
    passphrase,
    adminActor(c),
  );
  return new Response(exported.archive, { headers: exported.headers });
});

backupRoutes.post('/tenants/import', requireScope('backups:import'), async (c) => {
  if (c.var.admin.tenantSlug !== null) {
    throw new AppError('forbidden', 'a key bound to one tenant cannot import tenants');
  }
  const declared = Number(c.req.header('Content-Length') ?? '0');
  if (declared > MAX_IMPORT_BYTES) {
    throw new AppError('payload_too_large', `archives are limited to ${MAX_IMPORT_BYTES} bytes`);
  }
  if (!/^multipart\/form-data\s*;/i.test(c.req.header('Content-Type') ?? '')) {
    throw new AppError('unsupported_media_type', 'send the archive as multipart/form-data');
  }
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch (error) {
    throw new AppError('invalid_request', 'the body is not valid multipart/form-data', {
      cause: error,
    });
  }
  const file = form.get('file');
  const passphrase = form.get('passphrase');
  const slug = form.get('slug');
  if (typeof file === 'string' || file === null) {
    throw new AppError('invalid_request', 'the form needs a file field holding the archive');
  }
  if (typeof passphrase !== 'string') {
    throw new AppError('invalid_request', 'the form needs a passphrase field');
  }
  if (slug !== null && typeof slug !== 'string') {
    throw new AppError('invalid_request', 'slug must be a text field');
  }
  // The text rule of JSON bodies (src/http/text.ts), for this route's form fields.
  assertCleanText(passphrase, 'passphrase');
  if (slug !== null) assertCleanText(slug, 'slug');
  const { deps } = c.var;
  const by = adminActor(c);
  const result = await importTenant(deps, file.stream(), passphrase, {
    ...(slug === null || slug === '' ? {} : { slug }),
    actor: { type: by.actor.type, id: by.actor.id ?? null, ip: by.ip, userAgent: by.userAgent },
    now: by.at,
    kdf: deps.archiveKDF,
  });
  return c.json(
    {
      tenant: result.tenant,
      mode: result.mode,
      rows: result.rows,
      archive: {
        slug: result.archive.slug,
        schema_version: result.archive.schemaVersion,
        exported_at: result.archive.exportedAt.toISOString(),
      },
    },
    201,
  );
});

function backupView(backup: StoredBackup): Record<string, unknown> {
  return { key: backup.key, taken_at: backup.takenAt.toISOString(), size: backup.size };
}

/** Each tenant's last successful scheduled backup (R2 holds only completed uploads). */
backupRoutes.get('/backups', requireScope('backups:export'), async (c) => {
  const bucket = requireBucket(c.var.deps.blobs);
  const bound = c.var.admin.tenantSlug;
  const latest = new Map<string, StoredBackup>();
  for (const backup of await listBackups(bucket, bound ?? undefined)) {
    if (!latest.has(backup.slug)) latest.set(backup.slug, backup);
  }
  return c.json({
    tenants: [...latest.values()]
      .sort((a, b) => (a.slug < b.slug ? -1 : 1))
      .map((backup) => ({ slug: backup.slug, last_backup: backupView(backup) })),
  });
});

backupRoutes.get('/tenants/:slug/backups', requireScope('backups:export'), async (c) => {
  const backups = await listBackups(requireBucket(c.var.deps.blobs), c.req.param('slug'));
  return c.json({
    last_backup: backups[0] === undefined ? null : backupView(backups[0]),
    backups: backups.map(backupView),
  });
});

function requireBucket(bucket: R2Bucket | null): R2Bucket {
  if (bucket === null) throw new AppError('not_found', 'no backup bucket is bound (BACKUPS)');
  return bucket;
}
