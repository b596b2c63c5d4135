import { decodeBase32IgnorePadding, encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { createTOTPKeyURI, generateHOTP } from '@oslojs/otp';
import { renderSVG } from 'uqr';
import { timingSafeEqual } from '../../lib/constant-time.ts';
import { utf8 } from '../../lib/encoding.ts';

/** RFC 6238 §4 defaults, which authenticator apps assume: 30 s steps, 6 digits, HMAC-SHA-1. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** ±1 step (RFC 6238 §5.2 recommends at most one step of network delay either way). */
export const TOTP_WINDOW_STEPS = 1;
/** 160 bits: RFC 4226 §4 R6 recommends the HMAC-SHA-1 output length. */
export const TOTP_SECRET_BYTES = 20;

export function timeStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** The 6-digit code of `step` (TOTP is HOTP over the time step: RFC 6238 §4.2). */
export function totpCode(secret: Uint8Array, step: number): string {
  return generateHOTP(secret, BigInt(step), TOTP_DIGITS);
}

/**
 * The step whose code `code` is, within ±1 step of now, or null. Every candidate is computed and
 * compared in constant time, so the answer's timing does not say which step matched.
 */
export function matchTOTP(secret: Uint8Array, code: string, now: Date): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const current = timeStep(now);
  let matched: number | null = null;
  for (let offset = -TOTP_WINDOW_STEPS; offset <= TOTP_WINDOW_STEPS; offset++) {
    const candidate = utf8.encode(totpCode(secret, current + offset));
    if (timingSafeEqual(candidate, utf8.encode(code)) && matched === null)
      matched = current + offset;
  }
  return matched;
}

export function encodeTOTPSecret(secret: Uint8Array): string {
  return encodeBase32UpperCaseNoPadding(secret);
}

export function decodeTOTPSecret(text: string): Uint8Array {
  return decodeBase32IgnorePadding(text);
}

/** The otpauth:// URI (Key Uri Format) authenticator apps scan, and its QR code as SVG. */
export function totpProvisioning(
  issuer: string,
  accountName: string,
  secret: Uint8Array,
): { uri: string; qrSVG: string } {
  const uri = createTOTPKeyURI(issuer, accountName, secret, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
  return { uri, qrSVG: renderSVG(uri, { ecc: 'M', border: 2 }) };
}
