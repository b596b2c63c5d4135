import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every error code this service answers with. Stable: clients and tests match on these. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_json'
  | 'invalid_characters'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'not_found'
  | 'method_not_allowed'
  | 'unauthorized'
  | 'invalid_credentials'
  | 'invalid_token'
  | 'invalid_grant'
  | 'forbidden'
  | 'origin_not_allowed'
  | 'insufficient_scope'
  | 'conflict'
  | 'reserved_claim'
  | 'group_cycle'
  | 'limit_exceeded'
  | 'email_taken'
  | 'registration_closed'
  | 'password_too_short'
  | 'password_too_long'
  | 'password_too_common'
  | 'password_missing_lowercase'
  | 'password_missing_uppercase'
  | 'password_missing_digit'
  | 'password_missing_symbol'
  | 'password_contains_email'
  | 'password_too_few_classes'
  | 'invalid_bootstrap_code'
  | 'bootstrap_closed'
  | 'unknown_tenant'
  | 'session_expired'
  | 'rate_limited'
  | 'rate_limiter_unavailable'
  | 'database_unavailable'
  | 'storage_unavailable'
  | 'queue_unavailable'
  | 'metrics_unavailable'
  | 'misconfigured'
  | 'schema_mismatch'
  | 'archive_passphrase_too_short'
  | 'archive_not_bkp1'
  | 'archive_unsupported'
  | 'archive_decryption_failed'
  | 'archive_corrupt'
  | 'archive_truncated'
  | 'archive_invalid_content'
  | 'not_ready'
  | 'invalid_mfa_token'
  | 'invalid_code'
  | 'code_reused'
  | 'factor_locked'
  | 'mfa_not_enrolled'
  | 'invalid_webauthn_response'
  | 'invalid_challenge'
  | 'unknown_credential'
  | 'counter_regressed'
  | 'email_not_verified'
  | 'invalid_verification_token'
  | 'invalid_reset_token'
  | 'email_otp_disabled'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_response_type'
  | 'unsupported_token_type'
  | 'login_required'
  | 'reauthentication_required'
  | 'consent_required'
  | 'access_denied'
  | 'invalid_state'
  | 'provider_error'
  | 'provider_unavailable'
  | 'account_exists'
  | 'identity_in_use'
  | 'last_sign_in_method'
  | 'provider_in_use'
  | 'server_error';

const DEFAULT_STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request: 400,
  invalid_json: 400,
  // Control characters or unpaired surrogates in any text (src/http/text.ts).
  invalid_characters: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  not_found: 404,
  method_not_allowed: 405,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  invalid_grant: 400,
  forbidden: 403,
  // Export and erasure ask for a sign-in within the last 5 minutes (src/features/privacy).
  reauthentication_required: 403,
  origin_not_allowed: 403,
  insufficient_scope: 403,
  conflict: 409,
  reserved_claim: 400,
  group_cycle: 409,
  limit_exceeded: 409,
  email_taken: 409,
  registration_closed: 403,
  password_too_short: 400,
  password_too_long: 400,
  password_too_common: 400,
  password_missing_lowercase: 400,
  password_missing_uppercase: 400,
  password_missing_digit: 400,
  password_missing_symbol: 400,
  password_contains_email: 400,
  password_too_few_classes: 400,
  invalid_bootstrap_code: 400,
  bootstrap_closed: 409,
  unknown_tenant: 404,
  session_expired: 401,
  rate_limited: 429,
  rate_limiter_unavailable: 503,
  // A dependency failed or missed its deadline (src/dependencies.ts): retry with Retry-After.
  database_unavailable: 503,
  storage_unavailable: 503,
  queue_unavailable: 503,
  metrics_unavailable: 503,
  misconfigured: 503,
  schema_mismatch: 503,
  // bkp1 archives (src/features/backup/errors.ts): the caller's file or passphrase is at fault.
  archive_passphrase_too_short: 400,
  archive_not_bkp1: 400,
  archive_unsupported: 422,
  archive_decryption_failed: 400,
  archive_corrupt: 422,
  archive_truncated: 422,
  archive_invalid_content: 422,
  not_ready: 503,
  // Second factors and passkeys (src/features/mfa, src/features/passkeys).
  invalid_mfa_token: 401,
  invalid_code: 401,
  code_reused: 401,
  factor_locked: 429,
  mfa_not_enrolled: 409,
  invalid_webauthn_response: 400,
  invalid_challenge: 400,
  unknown_credential: 400,
  counter_regressed: 400,
  // Email flows (src/features/email).
  email_not_verified: 403,
  invalid_verification_token: 400,
  invalid_reset_token: 400,
  email_otp_disabled: 403,
  // OAuth 2.0 / OpenID Connect (src/features/oidc), named as RFC 6749, RFC 7009 and OIDC Core do.
  invalid_client: 401,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  unsupported_response_type: 400,
  unsupported_token_type: 400,
  login_required: 400,
  consent_required: 400,
  access_denied: 403,
  // Social and enterprise sign-in (src/features/federation).
  invalid_state: 400,
  provider_error: 400,
  provider_unavailable: 503,
  account_exists: 409,
  identity_in_use: 409,
  last_sign_in_method: 409,
  provider_in_use: 409,
  server_error: 500,
};

/** The codes as a list, for clients and tests that check a code is one of ours. */
export const ERROR_CODES = Object.keys(DEFAULT_STATUS) as ErrorCode[];

export interface AppErrorOptions {
  status?: ContentfulStatusCode;
  cause?: unknown;
  /** Extra members merged into the JSON body (e.g. `rule` for weak_password). Never secrets. */
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** The one error type services throw; `onError` turns it into `{error, error_description}`. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly extra: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, description: string, options: AppErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.extra = options.extra;
    this.headers = options.headers;
  }
}

export interface ErrorBody {
  error: ErrorCode;
  error_description: string;
  [key: string]: unknown;
}

export function errorBody(error: AppError): ErrorBody {
  return { ...error.extra, error: error.code, error_description: error.message };
}
