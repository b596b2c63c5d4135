// TOTP against RFC 6238 Appendix B (the SHA-1 rows; key "12345678901234567890", 8 digits, 30 s),
// through @oslojs/otp's generic HOTP and TOTP, then our 6-digit wrapper and its ±1 step window.
import { generateHOTP, generateTOTP } from '@oslojs/otp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  decodeTOTPSecret,
  encodeTOTPSecret,
  matchTOTP,
  timeStep,
  totpCode,
  totpProvisioning,
} from '../../../src/features/mfa/totp.ts';
import { utf8 } from '../../../src/lib/encoding.ts';

const KEY = utf8.encode('12345678901234567890');

// RFC 6238 Appendix B, the SHA1 rows: Unix time in seconds → 8-digit TOTP.
const VECTORS: Array<[number, string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

afterEach(() => {
  vi.useRealTimers();
});

describe('RFC 6238 Appendix B (SHA-1)', () => {
  it.each(VECTORS)('HOTP over the time step at T=%i gives %s', (seconds, expected) => {
    expect(generateHOTP(KEY, BigInt(Math.floor(seconds / 30)), 8)).toBe(expected);
  });

  it.each(VECTORS)('TOTP with the clock at T=%i gives %s', (seconds, expected) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(seconds * 1000);
    expect(generateTOTP(KEY, 30, 8)).toBe(expected);
  });

  it.each(VECTORS)(
    'the 6-digit wrapper at T=%i gives the last six digits of %s',
    (seconds, expected) => {
      expect(totpCode(KEY, timeStep(new Date(seconds * 1000)))).toBe(expected.slice(2));
    },
  );
});

describe('matchTOTP', () => {
  const now = new Date(1111111111 * 1000);
  const step = timeStep(now);

  it('accepts the current step and one step either side, and names the step', () => {
    expect(matchTOTP(KEY, totpCode(KEY, step), now)).toBe(step);
    expect(matchTOTP(KEY, totpCode(KEY, step - 1), now)).toBe(step - 1);
    expect(matchTOTP(KEY, totpCode(KEY, step + 1), now)).toBe(step + 1);
  });

  it('refuses two steps away, wrong lengths and non-digits', () => {
    expect(matchTOTP(KEY, totpCode(KEY, step - 2), now)).toBeNull();
    expect(matchTOTP(KEY, totpCode(KEY, step + 2), now)).toBeNull();
    expect(matchTOTP(KEY, '14050471', now)).toBeNull();
    expect(matchTOTP(KEY, '05047a', now)).toBeNull();
  });

  it('round-trips the base32 secret and builds an otpauth URI with an SVG QR code', () => {
    expect(decodeTOTPSecret(encodeTOTPSecret(KEY))).toEqual(KEY);
    const { uri, qrSVG } = totpProvisioning('Acme', 'a@example.com', KEY);
    expect(uri).toMatch(/^otpauth:\/\/totp\/Acme:a%40example\.com\?/);
    expect(uri).toContain(`secret=${encodeTOTPSecret(KEY)}`);
    expect(uri).toMatch(/period=30/);
    expect(uri).toMatch(/digits=6/);
    expect(qrSVG).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });
});
