import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { found, unknownTenant } from '../rbac/checks.ts';
import type { TenantTarget } from '../rbac/sql.ts';
import {
  deleteProvider as deleteProviderRow,
  findProvider,
  insertProvider,
  listProviders as listProviderRows,
  updateProvider as updateProviderRow,
  type Provider,
  type ProviderFields,
} from './providers-repo.ts';
import type { ProviderKind } from './schema.ts';
import { providerSecretContext, sealText } from './secret.ts';

export type ProviderDeps = Pick<Deps, 'db' | 'clock' | 'config'>;

export const PROVIDER_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** The scopes each kind asks for unless told otherwise. */
export const DEFAULT_SCOPES: Record<ProviderKind, string[]> = {
  google: ['openid', 'email', 'profile'],
  github: ['read:user', 'user:email'],
  oidc: ['openid', 'email', 'profile'],
};

export interface ProviderInput {
  name?: string | undefined;
  kind: ProviderKind;
  enabled: boolean;
  issuer?: string | null | undefined;
  clientId: string;
  clientSecret: string;
  scopes?: string[] | undefined;
  emailClaim: string;
  trustEmailVerified: boolean;
  allowedDomains: string[];
}

/**
 * The rules that need the whole record: google and github are named after their kind and have
 * no issuer (their hosts are fixed in upstream.ts); a generic OIDC provider needs an issuer URL,
 * https in production (discovery and the token exchange carry the client secret).
 */
function checkProvider(deps: ProviderDeps, fields: ProviderFields): void {
  if (!PROVIDER_NAME.test(fields.name))
    throw new AppError('invalid_request', 'name must be 1 to 40 of a-z, 0-9 and -');
  if (fields.kind !== 'oidc') {
    if (fields.name !== fields.kind)
      throw new AppError('invalid_request', `a ${fields.kind} provider is named ${fields.kind}`);
    if (fields.issuer !== null)
      throw new AppError('invalid_request', `a ${fields.kind} provider takes no issuer`);
    return;
  }
  if (fields.name === 'google' || fields.name === 'github')
    throw new AppError('invalid_request', 'google and github are reserved for their own kinds');
  if (fields.issuer === null)
    throw new AppError('invalid_request', 'an oidc provider needs its issuer URL');
  let issuer: URL;
  try {
    issuer = new URL(fields.issuer);
  } catch {
    throw new AppError('invalid_request', 'issuer must be an absolute URL');
  }
  const production = deps.config.environment === 'production';
  if (issuer.protocol !== 'https:' && (production || issuer.protocol !== 'http:'))
    throw new AppError('invalid_request', 'issuer must be an https URL');
  if (issuer.hash !== '' || issuer.search !== '' || issuer.username !== '')
    throw new AppError('invalid_request', 'issuer takes no query, fragment or userinfo');
}

function normalizedDomains(domains: string[]): string[] {
  return [...new Set(domains.map((d) => d.trim().toLowerCase()))];
}

export async function listProviders(deps: ProviderDeps, target: TenantTarget): Promise<Provider[]> {
  const rows = await listProviderRows(deps.db, target);
  if (rows === null) throw unknownTenant();
  return rows;
}

export async function getProvider(
  deps: ProviderDeps,
  target: TenantTarget,
  name: string,
): Promise<Provider> {
  if (!PROVIDER_NAME.test(name)) throw new AppError('not_found', 'no such provider');
  return found(await findProvider(deps.db, target, name), 'provider');
}

/** One round trip; the secret is sealed before it leaves the Worker and never read back. */
export async function createProvider(
  deps: ProviderDeps,
  target: TenantTarget,
  input: ProviderInput,
): Promise<Provider> {
  const fields: ProviderFields = {
    name: input.name ?? input.kind,
    kind: input.kind,
    enabled: input.enabled,
    issuer: input.issuer ?? null,
    clientId: input.clientId,
    scopes: input.scopes ?? DEFAULT_SCOPES[input.kind],
    emailClaim: input.emailClaim,
    trustEmailVerified: input.trustEmailVerified,
    allowedDomains: normalizedDomains(input.allowedDomains),
  };
  checkProvider(deps, fields);
  const id = crypto.randomUUID();
  const sealed = await sealText(
    deps.config.secretKey,
    input.clientSecret,
    providerSecretContext(id),
  );
  const created = await insertProvider(deps.db, target, {
    ...fields,
    id,
    clientSecretSealed: sealed,
    now: deps.clock.now(),
  });
  if (created.tenant && created.value === null)
    throw new AppError('conflict', 'a provider of this name exists');
  return found(created, 'provider');
}

export type ProviderPatch = Partial<Omit<ProviderInput, 'name' | 'kind'>>;

export async function updateProvider(
  deps: ProviderDeps,
  target: TenantTarget,
  name: string,
  patch: ProviderPatch,
): Promise<Provider> {
  const current = await getProvider(deps, target, name);
  const fields: ProviderFields = {
    name: current.name,
    kind: current.kind,
    enabled: patch.enabled ?? current.enabled,
    issuer: patch.issuer === undefined ? current.issuer : patch.issuer,
    clientId: patch.clientId ?? current.clientId,
    scopes: patch.scopes ?? current.scopes,
    emailClaim: patch.emailClaim ?? current.emailClaim,
    trustEmailVerified: patch.trustEmailVerified ?? current.trustEmailVerified,
    allowedDomains:
      patch.allowedDomains === undefined
        ? current.allowedDomains
        : normalizedDomains(patch.allowedDomains),
  };
  checkProvider(deps, fields);
  const sealed =
    patch.clientSecret === undefined
      ? current.clientSecretSealed
      : await sealText(
          deps.config.secretKey,
          patch.clientSecret,
          providerSecretContext(current.id),
        );
  const changed = Object.keys(patch).filter(
    (key) => patch[key as keyof ProviderPatch] !== undefined,
  );
  const updated = await updateProviderRow(
    deps.db,
    target,
    current,
    { ...fields, clientSecretSealed: sealed },
    changed,
    deps.clock.now(),
  );
  if (updated === 'stale')
    throw new AppError('conflict', 'the provider changed meanwhile; read it again');
  return updated;
}

/**
 * Deleting a provider deletes its identities. A user whose only way to sign in is one of them
 * would be locked out, so that is refused (`409 provider_in_use`, nothing written) unless the
 * operator forces it; disabling the provider is the reversible alternative.
 */
export async function deleteProvider(
  deps: ProviderDeps,
  target: TenantTarget,
  name: string,
  options: { force?: boolean } = {},
): Promise<void> {
  if (!PROVIDER_NAME.test(name)) throw new AppError('not_found', 'no such provider');
  const outcome = found(
    await deleteProviderRow(deps.db, target, name, deps.clock.now(), options.force === true),
    'provider',
  );
  if (!outcome.deleted)
    throw new AppError(
      'provider_in_use',
      `${outcome.stranded} user(s) can sign in only through this provider: disable it instead, ` +
        'or delete with force=true to remove their identities anyway',
      { extra: { stranded_users: outcome.stranded } },
    );
}
