import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { utf8 } from '../../lib/encoding.ts';
import {
  KEY_PURPOSE,
  deriveAESKey,
  openWithRootKeys,
  seal,
  type RootKeys,
} from '../../lib/keys.ts';
import { parseJSON } from '../tenants/repo.ts';
import { mailTransportSettingsSchema, type MailTransportSettings } from './settings.ts';

/** Bound as AES-GCM additional data: a sealed password moved to another tenant's row fails to open. */
export function smtpPasswordContext(tenantId: string): string {
  return `smtp-password:${tenantId}`;
}

export async function sealSMTPPassword(
  secretKey: Uint8Array,
  tenantId: string,
  password: string,
): Promise<string> {
  const key = await deriveAESKey(secretKey, KEY_PURPOSE.secretEncryption);
  return seal(key, utf8.encode(password), smtpPasswordContext(tenantId));
}

export async function openSMTPPassword(
  secretKeys: Uint8Array | RootKeys,
  tenantId: string,
  sealed: string,
): Promise<string> {
  const context = smtpPasswordContext(tenantId);
  return utf8.decode(
    await openWithRootKeys(secretKeys, KEY_PURPOSE.secretEncryption, sealed, context),
  );
}

export interface TenantMail {
  tenantId: string;
  slug: string;
  settings: MailTransportSettings;
  passwordSealed: string | null;
}

/** The tenant's transport settings and sealed password: one round trip; null if it is gone. */
export async function loadTenantMail(
  db: Database,
  tenant: { id: string } | { slug: string },
): Promise<TenantMail | null> {
  const where = 'id' in tenant ? sql`t.id = ${tenant.id}::uuid` : sql`t.slug = ${tenant.slug}`;
  const result = await db.execute(sql`
    select t.id, t.slug, t.settings->'mail' as mail, t.smtp_password_sealed
    from tenants t where ${where}`);
  const row = result.rows[0];
  if (row === undefined) return null;
  const parsed = mailTransportSettingsSchema.safeParse(parseJSON(row.mail) ?? {});
  return {
    tenantId: String(row.id),
    slug: String(row.slug),
    settings: parsed.success ? parsed.data : {},
    passwordSealed: typeof row.smtp_password_sealed === 'string' ? row.smtp_password_sealed : null,
  };
}

export async function storeSMTPPassword(
  db: Database,
  tenantId: string,
  sealed: string | null,
): Promise<void> {
  await db.execute(
    sql`update tenants set smtp_password_sealed = ${sealed}::text where id = ${tenantId}::uuid`,
  );
}
