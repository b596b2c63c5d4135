// The admin export of a tenant, shared by the JSON API and the console: one implementation.
import type { Deps } from '../../deps.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { adminEvent, type AdminActor } from '../admin/audit.ts';
import { startExport } from './export.ts';

/**
 * Starts the bkp1 archive of tenant `slug` under `passphrase` and records
 * `admin.tenant.exported` when it starts (a failure part-way shows as a cut download and in the
 * log). Returns the archive stream, the download's file name and the response headers.
 */
export async function exportTenantByAdmin(
  deps: Deps,
  slug: string,
  passphrase: string,
  by: AdminActor,
): Promise<{ archive: ReadableStream<Uint8Array>; headers: Record<string, string> }> {
  const started = await startExport(deps, slug, passphrase, {
    kdf: deps.archiveKDF,
    random: deps.random,
    now: by.at,
  });
  await recordAuditEvent(
    deps.db,
    adminEvent(
      by,
      'admin.tenant.exported',
      started.tenant.id,
      { type: 'tenant', id: started.tenant.id },
      { schema_version: started.metadata.schemaVersion },
    ),
  );
  started.done.catch((error: unknown) => {
    deps.log.error('tenant export failed part-way', {
      tenantSlug: started.tenant.slug,
      error: String(error),
    });
  });
  const filename = `${started.tenant.slug}-${by.at.toISOString().replace(/[:.]/g, '-')}.bkp1`;
  return {
    archive: started.archive,
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': `attachment; filename="${filename}"`,
      'Cache-Control': 'no-store',
    },
  };
}
