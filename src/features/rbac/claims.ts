import { parseJSON } from '../tenants/repo.ts';

/**
 * Claim names a claim mapper may never write: the registered JWT claims (RFC 7519 §4.1), those
 * OpenID Connect and RFC 9068 give meaning to in tokens we issue or will issue (nonce, auth_time,
 * acr, amr, azp, at_hash, c_hash, scope, cnf), and our own (sid, tenant, email, email_verified,
 * org, role, roles). Compared case-insensitively, so `Sub` cannot shadow `sub` for a lax reader.
 */
export const RESERVED_CLAIMS = [
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sid',
  'tenant',
  'email',
  'email_verified',
  'org',
  'role',
  'roles',
  'azp',
  'scope',
  'nonce',
  'auth_time',
  'acr',
  'amr',
  'at_hash',
  'c_hash',
  'typ',
  'cnf',
] as const;

const RESERVED = new Set<string>(RESERVED_CLAIMS);

export function isReservedClaim(name: string): boolean {
  return RESERVED.has(name.toLowerCase());
}

/** Attribute keys: lower-case identifiers, so they read the same in JSON, SQL and claim names. */
export const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]{0,63}$/;

/** Claim names: identifiers, or collision-resistant names such as `https://example.com/dept`. */
export const CLAIM_NAME = /^[A-Za-z][A-Za-z0-9_.:/-]{0,99}$/;

/** Attribute values ride in every access token: 1 KiB (UTF-8) each keeps tokens header-sized. */
export const MAX_ATTRIBUTE_VALUE_BYTES = 1024;

/** Per user, for the same reason: at most this many attributes. */
export const MAX_ATTRIBUTES_PER_USER = 64;

/** Per tenant: at most this many claim mappers. */
export const MAX_CLAIM_MAPPERS = 50;

/**
 * Columns a session query adds (aliases `u` for users) so the token carries the user's effective
 * roles and mapped attributes without another round trip. Effective roles: direct ones, and those
 * of every group the user is in and every ancestor of those groups; `union` (not `union all`)
 * makes the walk stop even if a cycle ever reached the table.
 */
export const ACCESS_CLAIM_COLUMNS_SQL = `(
  with recursive g(id) as (
    select gm.group_id from group_members gm where gm.user_id = u.id
    union
    select p.parent_id from tenant_groups p join g on p.id = g.id where p.parent_id is not null
  )
  select coalesce(json_agg(x.name), '[]'::json) from (
    select r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id
    union
    select r.name from g join group_roles gr on gr.group_id = g.id join roles r on r.id = gr.role_id
  ) x
) as rbac_roles, (
  select coalesce(json_object_agg(cm.claim_name, ua.value), '{}'::json)
  from claim_mappers cm join user_attributes ua on ua.user_id = u.id and ua.key = cm.attribute_key
  where cm.tenant_id = u.tenant_id and cm.access_token
) as rbac_claims`;

export interface AccessClaims {
  /** Effective role names, sorted. */
  roles: string[];
  /** Mapped claim name → attribute value. */
  claims: Record<string, string>;
}

/** Reads `rbac_roles` and `rbac_claims` from a row selected with ACCESS_CLAIM_COLUMNS_SQL. */
export function readAccessClaims(row: Record<string, unknown>): AccessClaims {
  const roles = parseJSON(row.rbac_roles);
  const claims = parseJSON(row.rbac_claims);
  const mapped: Record<string, string> = {};
  if (claims !== null && typeof claims === 'object' && !Array.isArray(claims)) {
    for (const [name, value] of Object.entries(claims)) {
      if (typeof value === 'string' && !isReservedClaim(name)) mapped[name] = value;
    }
  }
  return {
    roles: Array.isArray(roles) ? roles.map(String).sort() : [],
    claims: mapped,
  };
}
