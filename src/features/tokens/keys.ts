import { SignJWT, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type JWK } from 'jose';
import { encodeBase64url, utf8 } from '../../lib/encoding.ts';
import {
  KEY_PURPOSE,
  deriveAESKey,
  openWithRootKeys,
  seal,
  type RootKeys,
} from '../../lib/keys.ts';

export type SigningAlgorithm = 'ES256' | 'RS256';

export interface NewSigningKey {
  id: string;
  kid: string;
  alg: SigningAlgorithm;
  publicJWK: JWK;
  /** Sealed PKCS#8, bound to tenant and kid. */
  privateKey: string;
}

export interface StoredSigningKey {
  kid: string;
  alg: string;
  privateKey: string;
}

function sealContext(tenantId: string, kid: string): string {
  return `signing-key:${tenantId}:${kid}`;
}

export async function generateSigningKey(
  secretKey: Uint8Array,
  tenantId: string,
  alg: SigningAlgorithm,
  random: { bytes(length: number): Uint8Array },
): Promise<NewSigningKey> {
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const kid = encodeBase64url(random.bytes(12));
  const publicJWK = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
  const pkcs8 = await exportPKCS8(pair.privateKey);
  const wrapKey = await deriveAESKey(secretKey, KEY_PURPOSE.signingKeyEncryption);
  return {
    id: crypto.randomUUID(),
    kid,
    alg,
    publicJWK,
    privateKey: await seal(wrapKey, utf8.encode(pkcs8), sealContext(tenantId, kid)),
  };
}

/** Bound as additional data: the sealed key opens only in its own tenant's row, under its kid. */
export function signingKeyContext(tenantId: string, kid: string): string {
  return sealContext(tenantId, kid);
}

export async function unsealPrivateKey(
  secretKeys: Uint8Array | RootKeys,
  tenantId: string,
  key: StoredSigningKey,
): Promise<CryptoKey> {
  const sealed = await openWithRootKeys(
    secretKeys,
    KEY_PURPOSE.signingKeyEncryption,
    key.privateKey,
    sealContext(tenantId, key.kid),
  );
  const pkcs8 = utf8.decode(sealed);
  return importPKCS8(pkcs8, key.alg);
}

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  tenant: string;
  email: string;
  email_verified: boolean;
  org: string | null;
  role: string | null;
  [claim: string]: unknown;
}

export interface SignAccessTokenInput {
  key: CryptoKey;
  kid: string;
  alg: string;
  issuer: string;
  audience: string;
  now: Date;
  ttlSeconds: number;
  jti: string;
  /** The JSON API's claims, or an OAuth client's (`client_id`, `scope`, …; RFC 9068). */
  claims: AccessTokenClaims | { sub: string; [claim: string]: unknown };
}

export async function signAccessToken(input: SignAccessTokenInput): Promise<string> {
  const iat = Math.floor(input.now.getTime() / 1000);
  return new SignJWT(input.claims)
    .setProtectedHeader({ alg: input.alg, kid: input.kid, typ: 'at+jwt' })
    .setIssuer(input.issuer)
    .setAudience(input.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + input.ttlSeconds)
    .setJti(input.jti)
    .sign(input.key);
}
