import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import type { GatehouseClient } from './client.ts';
import type { ResponseBody } from './types.ts';

/** Registers a passkey for the signed-in user (WebAuthn ceremony through the browser). */
export async function registerPasskey(
  client: GatehouseClient,
  options: { name?: string } = {},
): Promise<ResponseBody<'/v1/auth/passkeys/register/verify', 'post'>> {
  const { authed } = client.internal;
  const optionsJSON = await authed('post', '/v1/auth/passkeys/register/options');
  const response = await startRegistration({ optionsJSON: optionsJSON as never });
  return (await authed('post', '/v1/auth/passkeys/register/verify', {
    response,
    ...options,
  })) as never;
}

/** Signs in with a passkey (usernameless); may answer with the second-factor step. */
export async function signInWithPasskey(
  client: GatehouseClient,
): Promise<ResponseBody<'/v1/auth/passkeys/authenticate/verify', 'post'>> {
  const { call, signIn } = client.internal;
  const optionsJSON = await call('post', '/v1/auth/passkeys/authenticate/options');
  const response = await startAuthentication({ optionsJSON: optionsJSON as never });
  return (await signIn('/v1/auth/passkeys/authenticate/verify', { response })) as never;
}
