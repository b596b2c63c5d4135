/** What an API key may do. Operator sessions hold every scope. */
export const SCOPES = [
  'tenants:read',
  'tenants:write',
  'users:read',
  'users:write',
  'audit:read',
  'backups:export',
  'backups:import',
  'clients:read',
  'clients:write',
  'metrics:read',
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
