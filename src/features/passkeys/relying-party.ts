import type { Config } from '../../env.ts';
import { isHostWithin, isOrigin } from '../../env.ts';
import { AppError } from '../../errors.ts';
import type { Tenant, TenantRef } from '../tenants/context.ts';
import { readMfaSettings } from '../mfa/settings.ts';

export interface RelyingParty {
  id: string;
  name: string;
  /** Origins a ceremony may run on (clientDataJSON.origin), all within `id`. */
  origins: string[];
}

/**
 * The tenant's WebAuthn relying party: its `webauthn` setting, else the custom hostname it was
 * reached on, else RP_ID / RP_ORIGIN (PUBLIC_BASE_URL). Origins outside the RP id are dropped:
 * browsers would refuse them (WebAuthn L3 §5.1.3 step 8), so accepting them would only hide a
 * misconfiguration; none left is refused loudly.
 */
export function relyingParty(
  config: Config,
  tenant: Tenant,
  ref: TenantRef,
  storedSettings: unknown,
): RelyingParty {
  const settings = readMfaSettings(storedSettings).webauthn;
  const byHost = ref.by === 'hostname';
  const id = settings.rpId ?? (byHost ? ref.hostname : config.webauthn.rpID);
  const primary = byHost ? `https://${ref.hostname}` : config.webauthn.rpOrigin;
  const candidates = settings.origins ?? [primary, ...tenant.corsOrigins];
  const origins = [...new Set(candidates)].filter(
    (origin) => isOrigin(origin) && isHostWithin(new URL(origin).hostname, id),
  );
  if (origins.length === 0) {
    throw new AppError('misconfigured', 'no origin of this tenant lies within its WebAuthn RP id');
  }
  return { id, name: settings.rpName ?? tenant.name, origins };
}
