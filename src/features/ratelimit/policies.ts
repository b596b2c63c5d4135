/**
 * The rate-limit policies, registered in one place. A later credential endpoint (password reset
 * request, email OTP request, MFA challenge, passkey finish) adds its own with `registerPolicy`
 * and enforces it with `enforce`; tenants override `limit`/`windowSeconds` per policy name in
 * their `rateLimits` setting.
 */
export interface RateLimitPolicy {
  /** Dotted, stable: the tenant setting's key, the Redis key's part and the RateLimit header's name. */
  name: string;
  limit: number;
  windowSeconds: number;
  /**
   * When Redis cannot answer in time: `closed` refuses the request (503), `open` lets it through.
   * Credential endpoints fail closed: an outage must not switch off brute-force protection.
   */
  onUnavailable: 'closed' | 'open';
  /** What one counter is kept for; documentation, and a check that callers pass that. */
  per: 'ip' | 'account' | 'session' | 'api_key';
  /** Counters outside any tenant (operators, API keys): no tenant setting can override it. */
  deploymentWide?: true;
}

const registry = new Map<string, RateLimitPolicy>();

const NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** Adds a policy; names are unique, so two features cannot silently share one counter. */
export function registerPolicy<const P extends RateLimitPolicy>(policy: P): P {
  if (!NAME.test(policy.name))
    throw new Error(`rate-limit policy name must be dotted lower-case: ${policy.name}`);
  if (registry.has(policy.name))
    throw new Error(`rate-limit policy registered twice: ${policy.name}`);
  if (
    !Number.isInteger(policy.limit) ||
    policy.limit < 1 ||
    !Number.isInteger(policy.windowSeconds) ||
    policy.windowSeconds < 1
  ) {
    throw new Error(`rate-limit policy ${policy.name} needs a positive integer limit and window`);
  }
  registry.set(policy.name, policy);
  return policy;
}

export function findPolicy(name: string): RateLimitPolicy | undefined {
  return registry.get(name);
}

export function listPolicies(): RateLimitPolicy[] {
  return [...registry.values()];
}

/** Whether a tenant's `rateLimits` setting may name this policy. */
export function isTenantPolicy(name: string): boolean {
  const policy = registry.get(name);
  return policy !== undefined && policy.deploymentWide !== true;
}

// Defaults from issue 5. Per IP limits are per tenant too: one tenant's traffic cannot use up
// another's budget. Per account limits stop a distributed attack on one account.
export const LOGIN_PER_IP = registerPolicy({
  name: 'login.ip',
  limit: 5,
  windowSeconds: 60,
  onUnavailable: 'closed',
  per: 'ip',
});

export const LOGIN_PER_ACCOUNT = registerPolicy({
  name: 'login.account',
  limit: 10,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'account',
});

export const REGISTER_PER_IP = registerPolicy({
  name: 'register.ip',
  limit: 3,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'ip',
});

export const REFRESH_PER_SESSION = registerPolicy({
  name: 'token.refresh',
  limit: 60,
  windowSeconds: 60,
  onUnavailable: 'closed',
  per: 'session',
});

/**
 * Operator sign-in, recovery and bootstrap share one budget per address and one per account: a
 * guess at a password, a recovery code or a bootstrap code all draw on it, and each request
 * costs a password hash. Deployment-wide (no tenant).
 */
export const OPERATOR_AUTH_PER_IP = registerPolicy({
  name: 'operator_auth.ip',
  limit: 10,
  windowSeconds: 60,
  onUnavailable: 'closed',
  per: 'ip',
  deploymentWide: true,
});

export const OPERATOR_AUTH_PER_ACCOUNT = registerPolicy({
  name: 'operator_auth.account',
  limit: 10,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'account',
  deploymentWide: true,
});

/** An operator's new recovery-code sets: 3 an hour (the production checklist's figure). */
export const OPERATOR_RECOVERY_CODES_REGENERATE = registerPolicy({
  name: 'operator_auth.recovery_codes_regenerate',
  limit: 3,
  windowSeconds: 3600,
  onUnavailable: 'closed',
  per: 'account',
  deploymentWide: true,
});

/**
 * Admin API writes, per API key (or operator session): `enforce(deps, 'admin.write', keyId)`.
 * Fails open: the caller already proved a 256-bit key, nothing is guessed here, and operators
 * must still be able to act while Redis is down.
 */
export const ADMIN_WRITE_PER_KEY = registerPolicy({
  name: 'admin.write',
  limit: 60,
  windowSeconds: 60,
  onUnavailable: 'open',
  per: 'api_key',
  deploymentWide: true,
});
