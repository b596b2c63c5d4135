// The drizzle schema: drizzle-kit reads this file to generate migrations into drizzle/.
export * from '../features/tenants/schema.ts';
export * from '../features/accounts/schema.ts';
export * from '../features/sessions/schema.ts';
export * from '../features/tokens/schema.ts';
export * from '../features/operators/schema.ts';
export * from '../features/apikeys/schema.ts';
export * from '../features/rbac/schema.ts';
export * from '../features/lockout/schema.ts';
export * from '../features/audit/schema.ts';
export * from '../features/mfa/schema.ts';
export * from '../features/passkeys/schema.ts';
export * from '../features/email/schema.ts';
export * from '../features/clients/schema.ts';
export * from '../features/oidc/schema.ts';
export * from '../features/secrets/schema.ts';
export * from '../features/federation/schema.ts';
