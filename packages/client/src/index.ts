export {
  createClient,
  type ClientOptions,
  type FetchInit,
  type GatehouseClient,
} from './client.ts';
export { GatehouseError } from './errors.ts';
export type { TokenStorage } from './tokens.ts';
export {
  isMfaRequired,
  type LoginResult,
  type Path,
  type RequestBody,
  type ResponseBody,
  type SecondFactorRequired,
  type SignedIn,
  type TokenResponse,
} from './types.ts';
export type { paths } from './generated/api.ts';
