import { and, eq } from 'drizzle-orm';
import { AppError } from '../../errors.ts';
import type { TenantDeps } from '../tenants/service.ts';
import { generateSigningKey, type SigningAlgorithm } from './keys.ts';
import { signingKeys } from './schema.ts';

/**
 * Makes a new key active; the previous active key stays published in the JWKS so tokens it signed
 * keep verifying until it is retired. One atomic batch.
 */
export async function rotateSigningKey(
  deps: TenantDeps,
  tenantId: string,
  alg: SigningAlgorithm,
): Promise<{ kid: string }> {
  const key = await generateSigningKey(deps.secretKey, tenantId, alg, deps.random);
  await deps.db.batch([
    deps.db
      .update(signingKeys)
      .set({ status: 'published' })
      .where(and(eq(signingKeys.tenantId, tenantId), eq(signingKeys.status, 'active'))),
    deps.db.insert(signingKeys).values({
      id: key.id,
      tenantId,
      kid: key.kid,
      alg: key.alg,
      publicJWK: key.publicJWK,
      privateKey: key.privateKey,
      status: 'active',
    }),
  ]);
  return { kid: key.kid };
}

/** Removes a published (no longer active) key from the JWKS: tokens it signed stop verifying. */
export async function retireSigningKey(
  deps: Pick<TenantDeps, 'db'>,
  tenantId: string,
  kid: string,
  now: Date,
): Promise<void> {
  const retired = await deps.db
    .update(signingKeys)
    .set({ status: 'retired', retiredAt: now })
    .where(
      and(
        eq(signingKeys.tenantId, tenantId),
        eq(signingKeys.kid, kid),
        eq(signingKeys.status, 'published'),
      ),
    )
    .returning({ kid: signingKeys.kid });
  if (retired.length === 0)
    throw new AppError(
      'not_found',
      'no published key with that kid (the active key cannot be retired)',
    );
}
