import { registerPolicy } from '../ratelimit/policies.ts';

/**
 * Second-factor attempts per account. The five-wrong-codes lockout stops guessing at one
 * factor; this bounds the rate across fresh MFA tokens too. Fails closed like every credential
 * endpoint.
 */
export const MFA_CHALLENGE_PER_ACCOUNT = registerPolicy({
  name: 'mfa.challenge',
  limit: 10,
  windowSeconds: 900,
  onUnavailable: 'closed',
  per: 'account',
});

/** Passkey sign-in finishes per client address: each costs a signature check and a write. */
export const PASSKEY_AUTHENTICATE_PER_IP = registerPolicy({
  name: 'passkey.authenticate',
  limit: 30,
  windowSeconds: 60,
  onUnavailable: 'closed',
  per: 'ip',
});

/** New recovery-code sets per user: 3 an hour (the production checklist's figure). */
export const RECOVERY_CODES_REGENERATE_PER_USER = registerPolicy({
  name: 'mfa.recovery_codes_regenerate',
  limit: 3,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'account',
});
