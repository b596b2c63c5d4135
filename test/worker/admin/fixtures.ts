// Admin fixtures: operators are created through the service (the shared test database has no
// bootstrap state to protect), signed in over HTTP, and given API keys over HTTP.
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import { createDeps, type Deps } from '../../../src/deps.ts';
import { createLogger } from '../../../src/log.ts';
import type { Scope } from '../../../src/features/apikeys/scopes.ts';
import type { OperatorRole } from '../../../src/features/operators/schema.ts';
import { createOperator } from '../../../src/features/operators/service.ts';
import { CookieJar, testConfig, testDB } from '../fixtures.ts';
import { jsonRequest, send, testEnv, type SendOptions } from '../harness.ts';

export const ADMIN = '/admin/api/v1';
/** Meets the operator policy: 3+ classes, 12+ characters, no fragment of the test emails. */
export const OPERATOR_PASSWORD = 'Quartz-Vivid-Harbor-97';

/**
 * Digits only after `op`: the operator password rule refuses any 3-character piece of the email
 * in the password, and OPERATOR_PASSWORD holds no run of 3 digits (random letters once made one).
 */
export function uniqueOperatorEmail(): string {
  return `op${Date.now()}${Math.random().toString().slice(2, 8)}@example.com`;
}

/** Deps for calling services directly from a test (real database, clock and randomness). */
export function testDeps(overrides: Partial<Deps> = {}): Deps {
  const deps = createDeps({
    env: testEnv,
    config: testConfig(),
    log: createLogger('error'),
    waitUntil: () => undefined,
  });
  return { ...deps, ...overrides };
}

export interface TestOperator {
  id: string;
  email: string;
  password: string;
  recoveryCodes: string[];
  jar: CookieJar;
}

/** An operator in the shared database, signed in: `jar` carries the session cookie. */
export async function makeOperator(role: OperatorRole = 'owner'): Promise<TestOperator> {
  const email = uniqueOperatorEmail();
  const { operator, recoveryCodes } = await createOperator(
    testDeps(),
    {
      email,
      password: OPERATOR_PASSWORD,
      role,
    },
    { actor: { type: 'system' }, ip: null, userAgent: null, at: new Date() },
  );
  const jar = await signInOperator(email, OPERATOR_PASSWORD);
  return { id: operator.id, email, password: OPERATOR_PASSWORD, recoveryCodes, jar };
}

export async function signInOperator(
  email: string,
  password: string,
  options: SendOptions = {},
): Promise<CookieJar> {
  const sent = await send(`${ADMIN}/auth/login`, jsonRequest('POST', { email, password }), options);
  expect(sent.response.status).toBe(200);
  const jar = new CookieJar();
  jar.store(sent.response);
  return jar;
}

export interface KeyOptions {
  scopes?: Scope[];
  tenant?: string | null;
  expires_at?: string | null;
}

export const ALL_SCOPES: Scope[] = [
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
];

/** Creates an API key over HTTP with the operator's session; returns the key and its id. */
export async function makeKey(
  operator: TestOperator,
  options: KeyOptions = {},
  sendOptions: SendOptions = {},
): Promise<{ key: string; id: string }> {
  const sent = await send(
    `${ADMIN}/api-keys`,
    jsonRequest(
      'POST',
      { name: 'test key', scopes: ALL_SCOPES, ...options },
      operator.jar.header(),
    ),
    sendOptions,
  );
  expect(sent.response.status).toBe(201);
  const body = await sent.json<{ key: string; api_key: { id: string } }>();
  return { key: body.key, id: body.api_key.id };
}

export function bearer(key: string): Record<string, string> {
  return { Authorization: `Bearer ${key}` };
}

export async function countRows(table: string, where = sql`true`): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from ${sql.identifier(table)} where ${where}`,
  );
  return Number(result.rows[0]?.n);
}
