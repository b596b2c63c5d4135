import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { decodeBase64, encodeBase64url, utf8 } from '../../lib/encoding.ts';
import { hashToken } from '../../lib/keys.ts';
import { publicUser, type SignedIn } from '../accounts/service.ts';
import { recordAuditEvent } from '../audit/events.ts';
import { MFA_TOKEN_TTL_SECONDS, type SecondFactorRequired } from '../mfa/login-gate.ts';
import { PASSKEY_AUTHENTICATE_PER_IP } from '../mfa/policies.ts';
import { generateRecoveryCodes, hashRecoveryCode } from '../mfa/recovery-codes.ts';
import { isSecondFactorRequired, readMfaSettings } from '../mfa/settings.ts';
import { enforce } from '../ratelimit/enforce.ts';
import { AMR, startSession, type Authenticated, type ClientInfo } from '../sessions/service.ts';
import type { TenantScope } from '../tenants/context.ts';
import { relyingParty } from './relying-party.ts';
import {
  completePasskeyLogin,
  deletePasskey,
  findRegistrationChallenge,
  insertAuthenticationChallenge,
  insertRegistrationChallenge,
  listPasskeys,
  loadAuthentication,
  renamePasskey,
  storePasskey,
  type PasskeyListing,
} from './repo.ts';

/** Five minutes for a ceremony (WebAuthn L3 §15.1 recommends 300 s to 600 s for UV). */
export const CHALLENGE_TTL_SECONDS = 300;
const CEREMONY_TIMEOUT_MS = CHALLENGE_TTL_SECONDS * 1000;

function newChallenge(deps: Deps): { challenge: string; now: Date; expiresAt: Date } {
  const now = deps.clock.now();
  return {
    challenge: encodeBase64url(deps.random.bytes(32)),
    now,
    expiresAt: new Date(now.getTime() + CHALLENGE_TTL_SECONDS * 1000),
  };
}

/**
 * The challenge a browser signed, read from clientDataJSON before anything is verified, to find
 * the stored challenge (the library then checks it matches). Malformed: 400.
 */
function signedChallenge(clientDataJSON: string): string {
  try {
    const parsed = JSON.parse(utf8.decode(decodeBase64(clientDataJSON))) as { challenge?: unknown };
    if (typeof parsed.challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(parsed.challenge))
      return parsed.challenge;
  } catch {
    // falls through
  }
  throw new AppError('invalid_webauthn_response', 'clientDataJSON is malformed');
}

/** Registration options for the signed-in user: two round trips (session, then challenge). */
export async function registrationOptions(
  deps: Deps,
  auth: Authenticated,
  scope: TenantScope,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const fresh = newChallenge(deps);
  const stored = await insertRegistrationChallenge(deps.db, {
    id: crypto.randomUUID(),
    tenantId: auth.tenant.id,
    userId: auth.user.id,
    ...fresh,
  });
  const rp = relyingParty(deps.config, auth.tenant, scope.ref, stored.settings);
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: auth.user.email,
    userDisplayName: auth.user.name ?? auth.user.email,
    // The user handle is the user id: stable, and not personal data.
    userID: utf8.encode(auth.user.id) as Uint8Array<ArrayBuffer>,
    // Bytes: a string would be taken as UTF-8 and encoded again.
    challenge: decodeBase64(fresh.challenge) as Uint8Array<ArrayBuffer>,
    timeout: CEREMONY_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: stored.credentials.map((c) => ({ id: c.id, transports: c.transports })),
    // Discoverable, so sign-in needs no username (usernameless, conditional UI).
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
}

export interface RegisteredPasskey {
  passkey: {
    id: string;
    name: string;
    device_type: string;
    backed_up: boolean;
    user_verified: boolean;
  };
  recoveryCodes: string[] | null;
}

/** Verifies the attestation and stores the passkey: three round trips. */
export async function registerPasskey(
  deps: Deps,
  auth: Authenticated,
  scope: TenantScope,
  input: { response: RegistrationResponseJSON; name?: string | undefined },
  client: ClientInfo,
): Promise<RegisteredPasskey> {
  const now = deps.clock.now();
  const challenge = signedChallenge(input.response.response.clientDataJSON);
  const found = await findRegistrationChallenge(
    deps.db,
    auth.tenant.id,
    auth.user.id,
    challenge,
    now,
  );
  if (found === null)
    throw new AppError('invalid_challenge', 'the challenge is unknown, used or expired');
  const rp = relyingParty(deps.config, auth.tenant, scope.ref, found.settings);
  let info;
  try {
    const verified = await verifyRegistrationResponse({
      response: input.response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      requireUserVerification: false,
    });
    if (!verified.verified) throw new Error('not verified');
    info = verified.registrationInfo;
  } catch (error) {
    throw new AppError('invalid_webauthn_response', 'the registration response did not verify', {
      cause: error,
    });
  }
  const codes = generateRecoveryCodes(deps.random);
  const id = crypto.randomUUID();
  const name = input.name ?? 'Passkey';
  const stored = await storePasskey(
    deps.db,
    found.id,
    {
      id,
      tenantId: auth.tenant.id,
      userId: auth.user.id,
      credentialId: info.credential.id,
      publicKey: encodeBase64url(info.credential.publicKey),
      counter: info.credential.counter,
      transports: info.credential.transports ?? [],
      aaguid: info.aaguid,
      name,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      now,
    },
    await Promise.all(codes.map(hashRecoveryCode)),
    client,
  );
  if (!stored.challengeUsed)
    throw new AppError('invalid_challenge', 'the challenge is unknown, used or expired');
  if (!stored.stored) throw new AppError('conflict', 'this credential is already registered');
  return {
    passkey: {
      id,
      name,
      device_type: info.credentialDeviceType,
      backed_up: info.credentialBackedUp,
      user_verified: info.userVerified,
    },
    recoveryCodes: stored.codesStored > 0 ? codes : null,
  };
}

/** Sign-in options: no credential list, so any discoverable passkey of the tenant works. One round trip. */
export async function authenticationOptions(
  deps: Deps,
  scope: TenantScope,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const fresh = newChallenge(deps);
  const stored = await insertAuthenticationChallenge(deps.db, scope, {
    id: crypto.randomUUID(),
    ...fresh,
  });
  if (stored === null) throw new AppError('unknown_tenant', 'no such tenant');
  const rp = relyingParty(deps.config, stored.tenant, scope.ref, stored.settings);
  return generateAuthenticationOptions({
    rpID: rp.id,
    // Bytes: a string would be taken as UTF-8 and encoded again.
    challenge: decodeBase64(fresh.challenge) as Uint8Array<ArrayBuffer>,
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification: 'preferred',
  });
}

export type PasskeySignIn =
  { kind: 'signed_in'; signedIn: SignedIn } | { kind: 'mfa'; answer: SecondFactorRequired };

/**
 * Verifies an assertion and signs in: two round trips (challenge, credential and user; then the
 * session) and one Redis round trip. A passkey that verified the user counts as two factors.
 */
export async function authenticateWithPasskey(
  deps: Deps,
  scope: TenantScope,
  response: AuthenticationResponseJSON,
  client: ClientInfo,
): Promise<PasskeySignIn> {
  const challenge = signedChallenge(response.response.clientDataJSON);
  const loaded = await loadAuthentication(deps.db, scope, challenge, response.id);
  if (loaded === null) throw new AppError('unknown_tenant', 'no such tenant');
  // After the read (the tenant's own limits apply), before the signature check and any write.
  await enforce(deps, PASSKEY_AUTHENTICATE_PER_IP.name, client.ip, {
    tenant: loaded.tenant,
    client,
  });
  const now = deps.clock.now();
  const { tenant, passkey, user } = loaded;
  if (loaded.challenge === null || loaded.challenge.expiresAt.getTime() <= now.getTime()) {
    throw new AppError('invalid_challenge', 'the challenge is unknown, used or expired');
  }
  if (passkey === null || user === null || user.disabled) {
    throw new AppError('unknown_credential', 'no such passkey in this tenant');
  }
  if (
    response.response.userHandle !== undefined &&
    response.response.userHandle !== encodeBase64url(utf8.encode(user.id))
  ) {
    throw new AppError('unknown_credential', 'the passkey does not belong to that user');
  }
  const rp = relyingParty(deps.config, tenant, scope.ref, loaded.settings);
  let verified;
  try {
    verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origins,
      expectedRPID: rp.id,
      // The counter is checked below, once the signature is known to be good.
      credential: {
        id: response.id,
        publicKey: decodeBase64(passkey.publicKey) as Uint8Array<ArrayBuffer>,
        counter: 0,
        transports: passkey.transports as never,
      },
      requireUserVerification: false,
    });
    if (!verified.verified) throw new Error('not verified');
  } catch (error) {
    await recordAuditEvent(deps.db, {
      tenantId: tenant.id,
      type: 'security.passkey.login.failed',
      actor: { type: 'anonymous' },
      target: { type: 'passkey', id: passkey.id },
      ip: client.ip,
      userAgent: client.userAgent,
      details: { reason: 'verification_failed' },
      at: now,
    });
    throw new AppError('invalid_webauthn_response', 'the passkey response did not verify', {
      cause: error,
    });
  }
  const { newCounter, userVerified } = verified.authenticationInfo;
  // A counter that does not move forward means a cloned authenticator (WebAuthn L3 §6.1.1).
  if ((newCounter > 0 || passkey.counter > 0) && newCounter <= passkey.counter) {
    await recordAuditEvent(deps.db, {
      tenantId: tenant.id,
      type: 'security.passkey.counter_regressed',
      actor: { type: 'user', id: user.id },
      target: { type: 'passkey', id: passkey.id },
      ip: client.ip,
      userAgent: client.userAgent,
      details: { stored_counter: passkey.counter, presented_counter: newCounter },
      at: now,
    });
    throw new AppError(
      'counter_regressed',
      'the passkey signature counter went backwards; it may be cloned',
    );
  }
  const settings = readMfaSettings(loaded.settings);
  // Without user verification a passkey is one factor: TOTP follows when the user has it.
  const needsMore = !userVerified && user.hasTOTP;
  if (!userVerified && !user.hasTOTP && isSecondFactorRequired(settings, user.roles)) {
    throw new AppError(
      'forbidden',
      'this tenant requires user verification (PIN or biometric) on the passkey',
    );
  }
  const base = {
    tenantId: tenant.id,
    challengeId: loaded.challenge.id,
    passkeyId: passkey.id,
    userId: user.id,
    oldCounter: passkey.counter,
    newCounter,
    userVerified,
    now,
    client,
  };
  if (needsMore) {
    const token = encodeBase64url(deps.random.bytes(32));
    const expiresAt = new Date(now.getTime() + MFA_TOKEN_TTL_SECONDS * 1000);
    const done = await completePasskeyLogin(deps.db, {
      ...base,
      next: {
        kind: 'mfa',
        token: {
          id: crypto.randomUUID(),
          tenantId: tenant.id,
          userId: user.id,
          tokenHash: await hashToken(token),
          purpose: 'challenge',
          now,
          expiresAt,
        },
      },
    });
    if (!done.done)
      throw new AppError('invalid_challenge', 'the challenge is unknown, used or expired');
    return {
      kind: 'mfa',
      answer: {
        mfa_required: true,
        mfa_token: token,
        methods: ['totp', 'recovery_code'],
        expires_at: expiresAt.toISOString(),
      },
    };
  }
  const started = await startSession(
    deps,
    tenant,
    user.id,
    client,
    userVerified ? AMR.passkeyVerified : AMR.passkey,
  );
  const done = await completePasskeyLogin(deps.db, {
    ...base,
    next: { kind: 'session', session: started.record },
  });
  if (!done.done)
    throw new AppError('invalid_challenge', 'the challenge is unknown, used or expired');
  return {
    kind: 'signed_in',
    signedIn: {
      tenant,
      token: started.token,
      expiresAt: started.record.expiresAt,
      user: publicUser(user),
      session: {
        id: started.record.id,
        created_at: started.record.now.toISOString(),
        expires_at: started.record.expiresAt.toISOString(),
        active_organization_id: done.activeOrganizationId,
        role: done.role,
      },
    },
  };
}

export function passkeysOf(deps: Deps, auth: Authenticated): Promise<PasskeyListing[]> {
  return listPasskeys(deps.db, auth.tenant.id, auth.user.id);
}

export async function renameOwnPasskey(
  deps: Deps,
  auth: Authenticated,
  id: string,
  name: string,
): Promise<void> {
  if (!(await renamePasskey(deps.db, auth.tenant.id, auth.user.id, id, name)))
    throw new AppError('not_found', 'no such passkey');
}

export async function deleteOwnPasskey(
  deps: Deps,
  auth: Authenticated,
  id: string,
  client: ClientInfo,
): Promise<void> {
  if (!(await deletePasskey(deps.db, auth.tenant.id, auth.user.id, id, deps.clock.now(), client))) {
    throw new AppError('not_found', 'no such passkey');
  }
}
