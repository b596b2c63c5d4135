import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { auditInsert, type AuditEvent } from '../audit/events.ts';
import { CLIENT_COLUMNS } from '../clients/repo.ts';
import { liveSession, timestamp } from '../sessions/repo.ts';
import type { TenantScope } from '../tenants/context.ts';
import { TENANT_COLUMNS, parseTextArray, settingSQL, tenantMatch } from '../tenants/repo.ts';
import { USER_CLAIM_COLUMNS, readClaimsUser, type ClaimsUser } from './claims.ts';
import { readContext, type TokenContext } from './token-repo.ts';

/** What the first look at a presented OIDC refresh token found (see tokens/repo.ts). */
export type PresentedGrantToken =
  /** Unknown, revoked, expired, of a revoked grant, or one of the JSON API's tokens. */
  | { state: 'invalid' }
  | {
      state: 'reused' | 'rotatable';
      clientId: string;
      codeId: string;
      sessionId: string;
      scopes: string[];
    };

function withinGrace(at: string, graceSeconds: number): SQL {
  return sql`(${graceSeconds}::int > 0 and r.rotated_at > ${at}::timestamptz - make_interval(secs => ${graceSeconds}::int))`;
}

/** One read: tenant, the named client, the active key and the presented token's state. */
export async function loadRefreshGrant(
  db: Database,
  scope: TenantScope,
  clientId: string,
  tokenHash: string,
  now: Date,
): Promise<(TokenContext & { token: PresentedGrantToken }) | null> {
  const at = now.toISOString();
  const grace = settingSQL('refreshReuseGraceSeconds');
  const result = await db.execute(sql`
    select ${TENANT_COLUMNS}, ${CLIENT_COLUMNS},
      k.kid as k_kid, k.alg as k_alg, k.private_key as k_private_key,
      r.client_id as r_client_id, r.code_id as r_code_id, r.session_id as r_session_id, r.scopes as r_scopes,
      case
        when r.id is null or r.client_id is null then 'invalid'
        when g.revoked_at is not null then 'invalid'
        when r.rotated_at is not null and r.revoked_at is null
          and not (${grace} > 0 and r.rotated_at > ${at}::timestamptz - make_interval(secs => ${grace})) then 'reused'
        when r.revoked_at is not null or r.expires_at <= ${at}::timestamptz then 'invalid'
        else 'rotatable'
      end as r_state
    from tenants t
    left join oauth_clients oc on oc.tenant_id = t.id and oc.client_id = ${clientId}
    left join signing_keys k on k.tenant_id = t.id and k.status = 'active'
    left join refresh_tokens r on r.tenant_id = t.id and r.token_hash = ${tokenHash}
    left join oauth_codes g on g.id = r.code_id
    where ${tenantMatch(scope.ref)}`);
  const row = result.rows[0];
  const context = readContext(scope, row);
  if (context === null || row === undefined) return null;
  const state = String(row.r_state);
  const token: PresentedGrantToken =
    state === 'reused' || state === 'rotatable'
      ? {
          state,
          clientId: String(row.r_client_id),
          codeId: String(row.r_code_id),
          sessionId: String(row.r_session_id),
          scopes: parseTextArray(row.r_scopes),
        }
      : { state: 'invalid' };
  return { ...context, token };
}

export interface RotatedGrant {
  user: ClaimsUser;
  sessionId: string;
  codeId: string;
  scopes: string[];
  expiresAt: Date;
}

/**
 * Rotates an OIDC refresh token in one statement, as `rotateRefreshToken` does for the JSON
 * API's (the UPDATE's row lock serialises concurrent presentations), carrying client, grant and
 * scopes to the successor. Only the client it was issued to can rotate it; the SSO session must
 * still be live and the grant unrevoked. Null when it did not rotate.
 */
export async function rotateGrantToken(
  db: Database,
  input: {
    tenantId: string;
    clientInternalId: string;
    presentedHash: string;
    next: { id: string; tokenHash: string; now: Date };
    ttlSeconds: number;
    graceSeconds: number;
    audit: AuditEvent;
  },
): Promise<RotatedGrant | null> {
  const at = input.next.now.toISOString();
  const result = await db.execute(sql`
    with old as (
      update refresh_tokens r set rotated_at = coalesce(r.rotated_at, ${at}::timestamptz)
      where r.tenant_id = ${input.tenantId}::uuid and r.token_hash = ${input.presentedHash}
        and r.client_id = ${input.clientInternalId}::uuid and r.revoked_at is null
        and r.expires_at > ${at}::timestamptz
        and (r.rotated_at is null or ${withinGrace(at, input.graceSeconds)})
      returning r.id, r.session_id, r.code_id, r.scopes
    ),
    live as (
      select ${USER_CLAIM_COLUMNS}, s.id as s_id, s.expires_at as s_expires_at,
        old.id as old_id, old.code_id as old_code_id, old.scopes as old_scopes
      from old
      join oauth_codes g on g.id = old.code_id and g.revoked_at is null
      join sessions s on s.id = old.session_id and ${liveSession(input.next.now)}
      join users u on u.id = s.user_id and u.disabled_at is null
    ),
    inserted as (
      insert into refresh_tokens (id, tenant_id, session_id, token_hash, parent_id, created_at,
        expires_at, client_id, code_id, scopes)
      select ${input.next.id}::uuid, ${input.tenantId}::uuid, live.s_id, ${input.next.tokenHash},
        live.old_id, ${at}::timestamptz,
        least(${at}::timestamptz + make_interval(secs => ${input.ttlSeconds}::int), live.s_expires_at),
        ${input.clientInternalId}::uuid, live.old_code_id, live.old_scopes
      from live
      returning expires_at
    ),
    audit as (${auditInsert(input.audit, { when: sql`exists (select 1 from inserted)` })})
    select live.*, (select expires_at from inserted) as next_expires_at from live`);
  const row = result.rows[0];
  if (row === undefined || row.next_expires_at === null || row.next_expires_at === undefined) {
    return null;
  }
  const user = readClaimsUser(row);
  if (user === null) return null;
  return {
    user,
    sessionId: String(row.s_id),
    codeId: String(row.old_code_id),
    scopes: parseTextArray(row.old_scopes),
    expiresAt: timestamp(row.next_expires_at),
  };
}
