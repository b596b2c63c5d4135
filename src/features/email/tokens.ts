import { sql, type SQL } from 'drizzle-orm';
import type { Config } from '../../env.ts';
import type { Deps } from '../../deps.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import type { Tenant } from '../tenants/context.ts';

export type EmailTokenPurpose = 'verify_email' | 'password_reset';

/** A verification link is good for a day: mail can sit unread overnight. */
export const VERIFY_TOKEN_TTL_SECONDS = 24 * 3600;

export interface IssuedToken {
  /** Goes into the mailed link only; never stored or logged. */
  token: string;
  tokenHash: string;
  purpose: EmailTokenPurpose;
  now: Date;
  expiresAt: Date;
}

/** 32 random bytes (base64url) and the SHA-256 that is stored; nothing written yet. */
export async function newEmailToken(
  deps: Deps,
  purpose: EmailTokenPurpose,
  ttlSeconds: number,
): Promise<IssuedToken> {
  const token = encodeBase64url(deps.random.bytes(32));
  const now = deps.clock.now();
  return {
    token,
    tokenHash: await hashToken(token),
    purpose,
    now,
    expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
  };
}

/**
 * Two CTE members (`<name>_old`, `<name>`) for a statement that issues a token: the user's earlier
 * unused tokens of the purpose are voided (a newer token replaces older ones), the new one stored
 * for the user's current normalised address. `user` is a query returning `id` and
 * `email_normalized` of at most one user (empty: nothing is issued). `<name>` returns `id`.
 */
export function issueTokenCTEs(
  name: string,
  tenantId: string | SQL,
  user: SQL,
  issued: IssuedToken,
): SQL {
  const tenant = typeof tenantId === 'string' ? sql`${tenantId}::uuid` : tenantId;
  const at = issued.now.toISOString();
  const ident = sql.raw(name);
  const old = sql.raw(`${name}_old`);
  return sql`${old} as (
      update email_tokens set used_at = ${at}::timestamptz
      where user_id in (select id from (${user}) x) and purpose = ${issued.purpose} and used_at is null
    ),
    ${ident} as (
      insert into email_tokens (tenant_id, user_id, purpose, token_hash, email, expires_at, created_at)
      select ${tenant}, x.id, ${issued.purpose}, ${issued.tokenHash}, x.email_normalized,
        ${issued.expiresAt.toISOString()}::timestamptz, ${at}::timestamptz
      from (${user}) x
      returning id
    )`;
}

/**
 * Where a mailed link points. A tenant's own page (`settings.mail.links`) gets the token in the
 * fragment: browsers never send a fragment to a server, so it stays out of access logs, proxies
 * and Referer headers, and the page's script reads it and POSTs it. Without one, the hosted page
 * (src/features/pages/email-pages.ts) gets it in the query so the link works without JavaScript:
 * that page's GET moves it into an HttpOnly cookie and redirects to the bare path at once, our
 * request log records paths only, and Referrer-Policy is no-referrer.
 */
export function mailLink(
  config: Config,
  tenant: Tenant,
  purpose: EmailTokenPurpose,
  token: string,
): string {
  const links = tenant.settings.mail.links;
  const configured = purpose === 'verify_email' ? links.verify_url : links.reset_url;
  if (configured !== null) return `${configured}#token=${token}`;
  const path = purpose === 'verify_email' ? 'verify-email' : 'reset-password';
  return `${config.publicBaseURL.origin}${config.basePath}/t/${tenant.slug}/${path}?token=${token}`;
}
