import { registerPolicy } from '../ratelimit/policies.ts';

// Every request here may send a mail: the limits bound mail-bombing of one address and the cost
// of one client, and all fail closed like the other credential endpoints.

/** Password-reset requests: the seed's figure, 5 an hour per client address and per address. */
export const PASSWORD_FORGOT_PER_IP = registerPolicy({
  name: 'password_forgot.ip',
  limit: 5,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'ip',
});

export const PASSWORD_FORGOT_PER_ACCOUNT = registerPolicy({
  name: 'password_forgot.account',
  limit: 5,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'account',
});

/** Sign-in code requests: as many as password-reset requests, per client and per address. */
export const EMAIL_OTP_REQUEST_PER_IP = registerPolicy({
  name: 'email_otp.request_ip',
  limit: 5,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'ip',
});

export const EMAIL_OTP_REQUEST_PER_ACCOUNT = registerPolicy({
  name: 'email_otp.request_account',
  limit: 5,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'account',
});

/**
 * Code guesses per client address and per address. Five wrong guesses kill one code; these
 * bound guessing across fresh codes (5 codes an hour × 5 guesses is already the most per address).
 */
export const EMAIL_OTP_VERIFY_PER_IP = registerPolicy({
  name: 'email_otp.verify_ip',
  limit: 10,
  windowSeconds: 60,
  onUnavailable: 'closed',
  per: 'ip',
});

export const EMAIL_OTP_VERIFY_PER_ACCOUNT = registerPolicy({
  name: 'email_otp.verify_account',
  limit: 10,
  windowSeconds: 900,
  onUnavailable: 'closed',
  per: 'account',
});

/** Verification mails a signed-in user may ask for again: 3 an hour per user. */
export const EMAIL_VERIFY_RESEND_PER_USER = registerPolicy({
  name: 'email_verify.resend',
  limit: 3,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'account',
});
