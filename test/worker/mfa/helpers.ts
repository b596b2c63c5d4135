// Shared steps of the MFA tests: a signed-in user, TOTP enrolment, codes from the secret.
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { Clock } from '../../../src/deps.ts';
import { decodeTOTPSecret, timeStep, totpCode } from '../../../src/features/mfa/totp.ts';
import { CookieJar, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, type SendOptions } from '../harness.ts';

export const PASSWORD = 'correct horse battery';

/** A clock a test moves by hand. */
export class ManualClock implements Clock {
  at: Date;
  constructor(at: Date) {
    this.at = at;
  }
  now(): Date {
    return this.at;
  }
  advance(seconds: number): void {
    this.at = new Date(this.at.getTime() + seconds * 1000);
  }
}

export function withClock(clock: Clock): SendOptions {
  return { app: { overrideDeps: () => ({ clock }) } };
}

export interface SignedInUser {
  email: string;
  jar: CookieJar;
}

export async function registerUser(
  tenant: TestTenant,
  extra: Record<string, unknown> = {},
): Promise<SignedInUser> {
  const email = uniqueEmail();
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest('POST', { email, password: PASSWORD, ...extra }),
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return { email, jar };
}

export function codeAt(secret: Uint8Array, at: Date, offsetSteps = 0): string {
  return totpCode(secret, timeStep(at) + offsetSteps);
}

/** Enrols and activates TOTP for a signed-in user; returns the secret and the recovery codes. */
export async function enableTOTP(
  tenant: TestTenant,
  user: SignedInUser,
  clock: Clock = { now: () => new Date() },
): Promise<{ secret: Uint8Array; recoveryCodes: string[] }> {
  const enrolled = await send(
    `${tenant.base}/v1/auth/mfa/totp/enroll`,
    jsonRequest('POST', {}, user.jar.header()),
    withClock(clock),
  );
  expect(enrolled.response.status).toBe(200);
  const secret = decodeTOTPSecret((await enrolled.json<{ secret: string }>()).secret);
  const verified = await send(
    `${tenant.base}/v1/auth/mfa/totp/verify`,
    jsonRequest('POST', { code: codeAt(secret, clock.now()) }, user.jar.header()),
    withClock(clock),
  );
  expect(verified.response.status).toBe(200);
  const body = await verified.json<{ recovery_codes: string[] }>();
  return { secret, recoveryCodes: body.recovery_codes };
}

export async function passwordLogin(tenant: TestTenant, email: string, clock?: Clock) {
  return send(
    `${tenant.base}/v1/auth/login`,
    jsonRequest('POST', { email, password: PASSWORD }),
    clock === undefined ? {} : withClock(clock),
  );
}

export async function auditTypes(tenantId: string, type: string): Promise<number> {
  const result = await testDB().execute(
    sql`select count(*)::int as n from audit_events where tenant_id = ${tenantId}::uuid and type = ${type}`,
  );
  return Number(result.rows[0]?.n ?? 0);
}

export async function sessionCount(tenantId: string, email: string): Promise<number> {
  const result = await testDB().execute(sql`
    select count(*)::int as n from sessions s join users u on u.id = s.user_id
    where s.tenant_id = ${tenantId}::uuid and u.email_normalized = ${email.toLowerCase()}`);
  return Number(result.rows[0]?.n ?? 0);
}
