import { utf8 } from '../../lib/encoding.ts';
import {
  KEY_PURPOSE,
  deriveAESKey,
  openWithRootKeys,
  seal,
  type RootKeys,
} from '../../lib/keys.ts';

/** AES-GCM additional data: a sealed secret moved to another provider's row fails to open. */
export function providerSecretContext(providerId: string): string {
  return `federation-secret:${providerId}`;
}

/** The PKCE verifier of one pending sign-in, bound to its state row. */
export function verifierContext(stateId: string): string {
  return `federation-pkce:${stateId}`;
}

export async function sealText(
  secretKey: Uint8Array,
  text: string,
  context: string,
): Promise<string> {
  const key = await deriveAESKey(secretKey, KEY_PURPOSE.secretEncryption);
  return seal(key, utf8.encode(text), context);
}

export async function openText(keys: RootKeys, sealed: string, context: string): Promise<string> {
  return utf8.decode(await openWithRootKeys(keys, KEY_PURPOSE.secretEncryption, sealed, context));
}
