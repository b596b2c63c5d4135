import type { Deps } from '../../deps.ts';
import { encodeBase64url } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import type { Tenant } from '../tenants/context.ts';
import { insertMfaToken, loadSecondFactorFacts, type MfaTokenPurpose } from './repo.ts';
import { isSecondFactorRequired, readMfaSettings } from './settings.ts';

/** Five minutes to type a code: long enough to find the phone, short for a stolen token. */
export const MFA_TOKEN_TTL_SECONDS = 300;

export type SecondFactorMethod = 'totp' | 'recovery_code' | 'passkey';

/** The answer to a right password when a second factor is due: no session yet. */
export interface SecondFactorRequired {
  mfa_required: true;
  mfa_token: string;
  methods: SecondFactorMethod[];
  /** The tenant requires a factor and the user has none: enrol with this token first. */
  enrollment_required?: true;
  expires_at: string;
}

/** Issues a single-use MFA token bound to the user and tenant; only its hash is stored. */
export async function issueMfaToken(
  deps: Deps,
  tenantId: string,
  userId: string,
  purpose: MfaTokenPurpose,
): Promise<{ token: string; expiresAt: Date }> {
  const now = deps.clock.now();
  const token = encodeBase64url(deps.random.bytes(32));
  const expiresAt = new Date(now.getTime() + MFA_TOKEN_TTL_SECONDS * 1000);
  await insertMfaToken(deps.db, {
    id: crypto.randomUUID(),
    tenantId,
    userId,
    tokenHash: await hashToken(token),
    purpose,
    now,
    expiresAt,
  });
  return { token, expiresAt };
}

/**
 * After a right password: null when the session may start, else the MFA answer. One round trip
 * for the decision, one more to store the token when a factor is due.
 */
export async function secondFactorGate(
  deps: Deps,
  tenant: Tenant,
  userId: string,
): Promise<SecondFactorRequired | null> {
  const facts = await loadSecondFactorFacts(deps.db, tenant.id, userId);
  const methods: SecondFactorMethod[] = [];
  if (facts.hasTOTP) methods.push('totp');
  if (facts.passkeys > 0) methods.push('passkey');
  if (methods.length > 0) {
    methods.push('recovery_code');
    const issued = await issueMfaToken(deps, tenant.id, userId, 'challenge');
    return {
      mfa_required: true,
      mfa_token: issued.token,
      methods,
      expires_at: issued.expiresAt.toISOString(),
    };
  }
  if (!isSecondFactorRequired(readMfaSettings(facts.settings), facts.roles)) return null;
  const issued = await issueMfaToken(deps, tenant.id, userId, 'enroll');
  return {
    mfa_required: true,
    mfa_token: issued.token,
    methods: [],
    enrollment_required: true,
    expires_at: issued.expiresAt.toISOString(),
  };
}
