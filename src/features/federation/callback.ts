// The provider's redirect back: two round trips (consume the state, then the linking rules and
// the session in one statement). A refusal after the state was consumed is audited as
// `security.federation.login.failed`, within the same two.
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { hashToken } from '../../lib/keys.ts';
import { rootKeysOf } from '../../env.ts';
import { pgErrorCode } from '../../db/schema-version.ts';
import { normalizeEmail, type PublicUser } from '../accounts/service.ts';
import { recordAuditEvent } from '../audit/events.ts';
import {
  prepareMfaToken,
  type SecondFactorMethod,
  type SecondFactorRequired,
} from '../mfa/login-gate.ts';
import { AMR, startSession, type ClientInfo } from '../sessions/service.ts';
import { issuerURL, type Tenant, type TenantScope } from '../tenants/context.ts';
import {
  consumeState,
  finishFederation,
  type ConsumedState,
  type FederatedAction,
  type FederatedOutcome,
  type FederatedOutcomeInput,
} from './flow-repo.ts';
import { openText, providerSecretContext, verifierContext } from './secret.ts';
import type { Provider } from './providers-repo.ts';
import { completeSocial } from './social.ts';
import { completeAuthorization } from './upstream.ts';

const UNIQUE_VIOLATION = '23505';

/**
 * The linking statement, raced: two first sign-ins of one identity (or one address) both decide
 * 'created' and the loser's insert meets the winner's row. Its statement wrote nothing, so it is
 * run once more and now decides against the committed winner (the same user signs in, or the
 * address's rules apply): a third round trip, only for the loser of a race. A second collision
 * is a clean 409, never a 500.
 */
async function decideOnce(deps: Deps, input: FederatedOutcomeInput): Promise<FederatedOutcome> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await finishFederation(deps.db, input);
    } catch (error) {
      if (pgErrorCode(error) !== UNIQUE_VIOLATION) throw error;
      if (attempt === 2)
        throw new AppError('conflict', 'this identity is being signed in concurrently; try again', {
          cause: error,
        });
    }
  }
}

export type CallbackResult =
  | {
      kind: 'session';
      tenant: Tenant;
      token: string;
      expiresAt: Date;
      redirectTo: string;
      user: PublicUser;
    }
  | { kind: 'mfa'; tenant: Tenant; answer: SecondFactorRequired; redirectTo: string }
  | { kind: 'linked'; tenant: Tenant; redirectTo: string };

type RefusalCode =
  | 'identity_in_use'
  | 'account_exists'
  | 'registration_closed'
  | 'email_not_verified'
  | 'access_denied';

const REFUSALS: Partial<Record<FederatedAction, [RefusalCode, string]>> = {
  identity_in_use: ['identity_in_use', 'this identity is linked to another account'],
  account_exists: [
    'account_exists',
    'an account with this email exists: sign in to it and link this provider from your account',
  ],
  registration_closed: ['registration_closed', 'registration is closed'],
  email_required: ['email_not_verified', 'the provider did not give a verified email address'],
  disabled: ['access_denied', 'this account cannot sign in'],
};

function defaultRedirect(deps: Deps, tenant: Tenant): string {
  return (
    tenant.settings.federation.defaultRedirectURL ??
    `${issuerURL(deps.config, tenant.slug)}/signed-in`
  );
}

export interface CallbackInput {
  providerName: string;
  callbackURL: URL;
  registeredCallbackURL: string;
  state: string;
  browserSecret: string;
}

/**
 * Two round trips: the state is consumed (single use, bound to the browser), then one
 * statement applies the linking rules and starts the session or the MFA step. The provider's
 * discovery, token endpoint and JWKS are subrequests. Every refusal writes nothing beyond the
 * consumed state and its `security.federation.login.failed` event (reason = the error code, or
 * the linking rule that refused), which rides in the second round trip either way. An unknown or
 * replayed state is not recorded: it names no sign-in of ours.
 */
export async function finishCallback(
  deps: Deps,
  scope: TenantScope,
  input: CallbackInput,
  client: ClientInfo,
): Promise<CallbackResult> {
  const now = deps.clock.now();
  const consumed = await consumeState(
    deps.db,
    scope.ref,
    input.providerName,
    { state: await hashToken(input.state), browser: await hashToken(input.browserSecret) },
    now,
  );
  const { tenant, provider, state } = consumed;
  if (tenant === null) throw new AppError('unknown_tenant', 'no such tenant');
  scope.tenant = tenant;
  if (provider === null || state === null)
    throw new AppError('invalid_state', 'unknown, used, expired or foreign sign-in state');
  try {
    return await complete(deps, tenant, provider, state, input, client);
  } catch (error) {
    // The decision statement audits its own refusals; everything before it is audited here.
    if (error instanceof AppError && !decided.has(error) && !UNAUDITED.has(error.code))
      await recordAuditEvent(deps.db, {
        tenantId: tenant.id,
        type: 'security.federation.login.failed',
        actor: { type: 'anonymous' },
        target: { type: 'user', id: state.userId },
        ip: client.ip,
        userAgent: client.userAgent,
        details: { provider: provider.name, intent: state.intent, reason: error.code },
        at: now,
      }).catch(() => undefined); // the refusal the user sees matters more than its record
    throw error;
  }
}

/** Failures of this deployment rather than of the sign-in: not a failed sign-in to audit. */
const UNAUDITED = new Set([
  'database_unavailable',
  'schema_mismatch',
  'not_ready',
  'misconfigured',
]);

/** Refusals the decision statement already audited. */
const decided = new WeakSet<AppError>();

async function complete(
  deps: Deps,
  tenant: Tenant,
  provider: Provider,
  state: ConsumedState,
  input: CallbackInput,
  client: ClientInfo,
): Promise<CallbackResult> {
  if (!provider.enabled) throw new AppError('access_denied', 'this identity provider is disabled');
  const keys = rootKeysOf(deps.config);
  const codeVerifier = await openText(keys, state.codeVerifierSealed, verifierContext(state.id));
  const clientSecret = await openText(
    keys,
    provider.clientSecretSealed,
    providerSecretContext(provider.id),
  );
  const upstream = {
    callbackURL: input.callbackURL,
    state: input.state,
    nonce: state.nonce,
    codeVerifier,
    redirectURI: input.registeredCallbackURL,
    clientSecret,
  };
  const identity =
    provider.kind === 'oidc'
      ? await completeAuthorization(deps, provider, upstream)
      : await completeSocial(deps, provider, upstream);
  const emailNormalized = identity.email === null ? null : normalizeEmail(identity.email);
  if (provider.allowedDomains.length > 0) {
    const domain = emailNormalized?.split('@').pop() ?? '';
    if (!provider.allowedDomains.includes(domain))
      throw new AppError(
        'access_denied',
        'this email domain may not sign in through this provider',
      );
  }
  const redirectTo = state.redirectTo === '' ? defaultRedirect(deps, tenant) : state.redirectTo;
  const started = await startSession(deps, tenant, state.userId ?? '', client, AMR.federated);
  const mfaToken = await prepareMfaToken(deps);
  const outcome = await decideOnce(deps, {
    tenantId: tenant.id,
    providerId: provider.id,
    providerName: provider.name,
    subject: identity.subject,
    email: identity.email,
    emailNormalized,
    name: identity.name,
    emailVerified: provider.trustEmailVerified && identity.emailVerified,
    linkByEmail: tenant.settings.federation.linkByEmail,
    registrationEnabled: tenant.settings.registrationEnabled,
    verifiedRequired: tenant.settings.emailVerificationRequired,
    intent: state.intent,
    linkUserId: state.userId,
    newUserId: crypto.randomUUID(),
    identityId: crypto.randomUUID(),
    session: started.record,
    mfaToken,
    client,
  });
  const refusal = REFUSALS[outcome.action];
  if (refusal !== undefined) {
    const error = new AppError(...refusal);
    decided.add(error);
    throw error;
  }
  if (outcome.action === 'linked' || outcome.action === 'already_linked')
    return { kind: 'linked', tenant, redirectTo };
  if (outcome.mfa !== null) {
    const base = {
      mfa_required: true as const,
      mfa_token: mfaToken.token,
      expires_at: mfaToken.expiresAt.toISOString(),
    };
    if (outcome.mfa.purpose === 'enroll')
      return {
        kind: 'mfa',
        tenant,
        redirectTo,
        answer: { ...base, methods: [], enrollment_required: true },
      };
    const methods: SecondFactorMethod[] = [];
    if (outcome.mfa.hasTOTP) methods.push('totp');
    if (outcome.mfa.hasPasskey) methods.push('passkey');
    methods.push('recovery_code');
    return { kind: 'mfa', tenant, redirectTo, answer: { ...base, methods } };
  }
  const user = outcome.user!;
  return {
    kind: 'session',
    tenant,
    token: started.token,
    expiresAt: started.record.expiresAt,
    redirectTo,
    user: {
      id: outcome.userId!,
      email: user.email,
      name: user.name,
      email_verified: user.emailVerified,
      created_at: user.createdAt.toISOString(),
    },
  };
}
