import { sql } from 'drizzle-orm';
import { avatarURL } from '../avatars/storage.ts';
import { ACCESS_CLAIM_COLUMNS_SQL, readAccessClaims } from '../rbac/claims.ts';
import { parseJSON } from '../tenants/repo.ts';

/** Scopes this provider gives meaning to; a client may also be registered for API scopes. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access', 'roles'] as const;

/** Claims the ID token and userinfo may carry (discovery's `claims_supported`). */
export const SUPPORTED_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'acr',
  'amr',
  'azp',
  'sid',
  'name',
  'picture',
  'updated_at',
  'email',
  'email_verified',
  'roles',
];

/** What the protocol endpoints need of a user, read in the statement that needs it. */
export interface ClaimsUser {
  id: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  /** The avatar's content hash (src/features/avatars), null when the user has none. */
  avatarKey: string | null;
  updatedAt: Date;
  roles: string[];
  /** Claim mappers marked for access tokens. */
  accessClaims: Record<string, string>;
  /** Claim mappers marked for ID tokens (and userinfo). */
  idClaims: Record<string, string>;
}

/**
 * Columns (aliases `u` for users) for `readClaimsUser`. Roles and the access-token mappers come
 * from the shared RBAC subqueries; ID-token mappers are the same join filtered on `id_token`.
 */
export const USER_CLAIM_COLUMNS = sql.raw(
  [
    'u.id as u_id, u.email as u_email, u.email_verified as u_email_verified, u.name as u_name',
    'u.avatar_key as u_avatar_key',
    'u.updated_at as u_updated_at',
    ACCESS_CLAIM_COLUMNS_SQL,
    `(select coalesce(json_object_agg(cm.claim_name, ua.value), '{}'::json)
      from claim_mappers cm join user_attributes ua on ua.user_id = u.id and ua.key = cm.attribute_key
      where cm.tenant_id = u.tenant_id and cm.id_token) as id_claims`,
  ].join(', '),
);

export function readClaimsUser(row: Record<string, unknown>): ClaimsUser | null {
  if (row.u_id === null || row.u_id === undefined) return null;
  const access = readAccessClaims(row);
  // Same reserved-name filter as the access-token mappers.
  const idClaims = readAccessClaims({ rbac_roles: '[]', rbac_claims: row.id_claims }).claims;
  return {
    id: String(row.u_id),
    email: String(row.u_email),
    emailVerified: row.u_email_verified === true || row.u_email_verified === 't',
    name: row.u_name === null || row.u_name === undefined ? null : String(row.u_name),
    avatarKey:
      row.u_avatar_key === null || row.u_avatar_key === undefined ? null : String(row.u_avatar_key),
    updatedAt:
      row.u_updated_at instanceof Date ? row.u_updated_at : new Date(String(row.u_updated_at)),
    roles: access.roles,
    accessClaims: access.claims,
    idClaims,
  };
}

/**
 * The user's claims a scope set releases (OIDC Core §5.4): `profile` → name, picture (the
 * avatar's absolute URL under the tenant's `issuer`, absent without one), updated_at;
 * `email` → email, email_verified; `roles` → roles. Mapped claims ride with `profile`: they are
 * profile data the tenant chose to publish.
 */
export function scopedClaims(
  user: ClaimsUser,
  scopes: readonly string[],
  issuer: string,
): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  if (scopes.includes('profile')) {
    Object.assign(claims, user.idClaims);
    if (user.name !== null) claims.name = user.name;
    const picture = avatarURL(issuer, user.avatarKey);
    if (picture !== null) claims.picture = picture;
    claims.updated_at = Math.floor(user.updatedAt.getTime() / 1000);
  }
  if (scopes.includes('email')) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  if (scopes.includes('roles')) claims.roles = user.roles;
  return claims;
}

/** RFC 8176 amr → our two assurance levels (discovery's `acr_values_supported`). */
export function acrOf(amr: readonly string[]): '1' | '2' {
  return amr.includes('mfa') ? '2' : '1';
}

export function parseJSONArray(value: unknown): unknown[] {
  const parsed = parseJSON(value);
  return Array.isArray(parsed) ? parsed : [];
}
