import type { paths } from './generated/api.ts';

/** An end-user route of the service, as the OpenAPI document names it. */
export type Path = keyof paths;
type Op<P extends Path, M extends string> = NonNullable<paths[P][M & keyof paths[P]]>;

/** The JSON body a route takes (from the OpenAPI document). */
export type RequestBody<P extends Path, M extends string> =
  Op<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

type Responses<P extends Path, M extends string> =
  Op<P, M> extends { responses: infer R } ? R : never;
type Success<R> = R[Extract<keyof R, 200 | 201 | 202>];

/** The JSON a route answers with on success; routes documented without a schema give a record. */
export type ResponseBody<P extends Path, M extends string> =
  Success<Responses<P, M>> extends { content: { 'application/json': infer J } }
    ? J
    : Record<string, unknown>;

/** Tokens as `POST /v1/auth/token` answers them (RFC 6749 §5.1). */
export type TokenResponse = ResponseBody<'/v1/auth/token', 'post'>;

export type LoginResult = ResponseBody<'/v1/auth/login', 'post'>;
/** The second step of a login: present a factor with `completeMfa`. */
export type SecondFactorRequired = Extract<LoginResult, { mfa_required: true }>;
export type SignedIn = Exclude<LoginResult, { mfa_required: true }>;

/** True when a sign-in answered with the second-factor step instead of a session. */
export function isMfaRequired(result: object): result is SecondFactorRequired {
  return (result as { mfa_required?: unknown }).mfa_required === true;
}
