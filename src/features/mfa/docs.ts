import type { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import {
  authenticationResponseBody,
  registrationResponseBody,
  renameBody,
} from '../passkeys/routes.ts';
import {
  mfaChallengeBody,
  recoveryRegenerateBody,
  totpDisableBody,
  totpEnrollBody,
  totpVerifyBody,
} from './routes.ts';

type Row = [RouteDoc['method'], string, string, z.ZodType | undefined, RouteDoc['auth']];

function rows(tag: string, list: Row[]): RouteDoc[] {
  return list.map(([method, path, summary, body, auth]) => ({
    method,
    path,
    summary,
    tag,
    auth,
    ...(body === undefined ? {} : { body }),
    responses: {
      200: { description: 'success' },
      400: { description: 'invalid input or code' },
      401: { description: 'not signed in or token expired' },
    },
  }));
}

export const mfaDocs: RouteDoc[] = [
  ...rows('second factors', [
    ['get', '/v1/auth/mfa', 'Factors enrolled and the tenant policy', undefined, 'session'],
    [
      'post',
      '/v1/auth/mfa/totp/enroll',
      'Start TOTP enrolment: secret, otpauth:// URI, SVG QR code',
      totpEnrollBody,
      'session',
    ],
    [
      'post',
      '/v1/auth/mfa/totp/verify',
      'Activate TOTP with a first code; returns recovery codes once',
      totpVerifyBody,
      'session',
    ],
    [
      'post',
      '/v1/auth/mfa/totp/disable',
      'Disable TOTP (current code or password)',
      totpDisableBody,
      'session',
    ],
    ['get', '/v1/auth/mfa/recovery-codes', 'How many recovery codes remain', undefined, 'session'],
    [
      'post',
      '/v1/auth/mfa/recovery-codes/regenerate',
      'New recovery codes (needs a current factor); 3 an hour per user',
      recoveryRegenerateBody,
      'session',
    ],
    [
      'post',
      '/v1/auth/mfa/challenge',
      'Complete a login with a TOTP or recovery code. A recovery code voids the rest: the answer adds `recovery_codes_remaining: 0` and `regenerate_recovery_codes: true`',
      mfaChallengeBody,
      'none',
    ],
  ]),
  ...rows('passkeys', [
    [
      'post',
      '/v1/auth/passkeys/register/options',
      'WebAuthn registration options',
      undefined,
      'session',
    ],
    [
      'post',
      '/v1/auth/passkeys/register/verify',
      'Verify a registration and store the passkey',
      registrationResponseBody,
      'session',
    ],
    [
      'post',
      '/v1/auth/passkeys/authenticate/options',
      'WebAuthn authentication options (usernameless)',
      undefined,
      'none',
    ],
    [
      'post',
      '/v1/auth/passkeys/authenticate/verify',
      'Sign in with a passkey',
      authenticationResponseBody,
      'none',
    ],
    ['get', '/v1/auth/passkeys', 'Your passkeys', undefined, 'session'],
    ['patch', '/v1/auth/passkeys/:id', 'Rename a passkey', renameBody, 'session'],
    ['delete', '/v1/auth/passkeys/:id', 'Delete a passkey', undefined, 'session'],
  ]),
];
