// The doctor's checks against a running deployment (scripts/doctor.ts). Each check makes its own
// requests and answers green, yellow (skipped, or not applicable here) or red, with one line why.

export type Verdict = 'green' | 'yellow' | 'red';

export interface CheckResult {
  name: string;
  verdict: Verdict;
  detail: string;
}

export interface DoctorOptions {
  /** The deployment's public base URL, BASE_PATH included (`https://auth.example.com`). */
  baseURL: string;
  tenant: string | null;
  apiKey: string | null;
  timeoutMs?: number;
}

/** HSTS shorter than a year does not survive between visits of an occasional user. */
const HSTS_MIN_MAX_AGE = 31_536_000;
/** An origin no deployment allows: CORS must not answer it. */
export const PROBE_ORIGIN = 'https://gatehouse-doctor.invalid';
/** Members of a private JWK (RFC 7518 §6.2.2, §6.3.2, §6.4): never in a published key set. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

const green = (name: string, detail: string): CheckResult => ({ name, verdict: 'green', detail });
const yellow = (name: string, detail: string): CheckResult => ({ name, verdict: 'yellow', detail });
const red = (name: string, detail: string): CheckResult => ({ name, verdict: 'red', detail });

export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return (
    host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1'
  );
}

export interface Probe {
  base: string;
  /** The tenant API's base: /t/{slug} under the base URL, or the base (DEFAULT_TENANT). */
  tenantBase: string;
  options: DoctorOptions;
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

export function createProbe(options: DoctorOptions): Probe {
  const base = options.baseURL.replace(/\/+$/, '');
  return {
    base,
    tenantBase: options.tenant === null ? base : `${base}/t/${encodeURIComponent(options.tenant)}`,
    options,
    fetch: (url, init = {}) =>
      fetch(url, {
        redirect: 'manual',
        ...init,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      }),
  };
}

async function jsonOf(response: Response): Promise<Record<string, unknown> | null> {
  try {
    const body: unknown = await response.json();
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const errorOf = (body: Record<string, unknown> | null): string =>
  typeof body?.error === 'string' ? ` (${body.error})` : '';

/** Runs a check; a request that fails outright (refused, timed out) makes it red. */
export async function guarded(name: string, run: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await run();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return red(
      name,
      `no answer: ${error instanceof Error ? error.message : String(error)}${cause ? ` (${cause})` : ''}`,
    );
  }
}

export async function checkHealth(probe: Probe): Promise<CheckResult> {
  const response = await probe.fetch(`${probe.base}/health`);
  const body = await jsonOf(response);
  if (response.status === 200 && body?.status === 'ok')
    return green('health', '/health answered ok');
  return red('health', `/health answered ${response.status}${errorOf(body)}`);
}

/** Readiness and the schema version it reports, from one request. */
export async function checkReadiness(probe: Probe): Promise<CheckResult[]> {
  const response = await probe.fetch(`${probe.base}/health/ready`);
  const body = await jsonOf(response);
  const ready =
    response.status === 200 && body?.status === 'ready'
      ? green('ready', '/health/ready answered ready (database reachable)')
      : red('ready', `/health/ready answered ${response.status}${errorOf(body)}`);
  const version = body?.schema_version;
  const expected = body?.expected_version;
  let schema: CheckResult;
  if (body?.error === 'schema_mismatch')
    schema = red('schema', `schema_mismatch: ${String(body.error_description ?? '')}`);
  else if (typeof version !== 'number') schema = yellow('schema', 'no schema_version reported');
  else if (response.status === 200)
    schema = green(
      'schema',
      `database at ${version}${typeof expected === 'number' ? `, build expects ${expected}` : ''}`,
    );
  else schema = red('schema', `database at ${version}, not served (${response.status})`);
  return [ready, schema];
}

export async function checkTransport(probe: Probe): Promise<CheckResult[]> {
  const url = new URL(probe.base);
  if (url.protocol !== 'https:') {
    if (isLoopback(url)) {
      const skipped = 'skipped: loopback http (local development); production must be https';
      return [yellow('https', skipped), yellow('hsts', skipped)];
    }
    return [
      red('https', `${url.origin} is not https`),
      yellow('hsts', 'skipped: not https (browsers ignore HSTS over http)'),
    ];
  }
  const response = await probe.fetch(`${probe.base}/health`);
  const hsts = response.headers.get('Strict-Transport-Security');
  const maxAge = Number(/max-age=(\d+)/i.exec(hsts ?? '')?.[1] ?? NaN);
  return [
    green('https', `${url.origin} is https`),
    hsts === null
      ? red('hsts', 'no Strict-Transport-Security header')
      : maxAge >= HSTS_MIN_MAX_AGE
        ? green('hsts', hsts)
        : red('hsts', `max-age below ${HSTS_MIN_MAX_AGE}: ${hsts}`),
  ];
}

export async function checkSecurityHeaders(probe: Probe): Promise<CheckResult> {
  const response = await probe.fetch(`${probe.base}/health`);
  const headers = response.headers;
  const problems: string[] = [];
  if (headers.get('X-Content-Type-Options')?.toLowerCase() !== 'nosniff')
    problems.push('X-Content-Type-Options is not nosniff');
  const csp = headers.get('Content-Security-Policy');
  if (csp === null) problems.push('no Content-Security-Policy');
  const frameDenied =
    headers.get('X-Frame-Options')?.toUpperCase() === 'DENY' ||
    /frame-ancestors\s+'none'/.test(csp ?? '');
  if (!frameDenied)
    problems.push("framing allowed (no X-Frame-Options DENY or frame-ancestors 'none')");
  if (headers.get('Referrer-Policy') === null) problems.push('no Referrer-Policy');
  return problems.length === 0
    ? green('security-headers', 'nosniff, CSP, no framing, Referrer-Policy')
    : red('security-headers', problems.join('; '));
}

/** A foreign origin gets no CORS grant, and no answer ever says `*` (credentials are in use). */
export async function checkCORS(probe: Probe): Promise<CheckResult> {
  const url = `${probe.tenantBase}/v1/auth/session`;
  const simple = await probe.fetch(url, { headers: { Origin: PROBE_ORIGIN } });
  const preflight = await probe.fetch(url, {
    method: 'OPTIONS',
    headers: { Origin: PROBE_ORIGIN, 'Access-Control-Request-Method': 'POST' },
  });
  const health = await probe.fetch(`${probe.base}/health`, { headers: { Origin: PROBE_ORIGIN } });
  const problems: string[] = [];
  for (const [label, response] of [
    ['session', simple],
    ['preflight', preflight],
    ['health', health],
  ] as const) {
    const allowed = response.headers.get('Access-Control-Allow-Origin');
    if (allowed === '*') problems.push(`${label}: Access-Control-Allow-Origin: *`);
    else if (allowed === PROBE_ORIGIN) problems.push(`${label}: a foreign origin is allowed`);
    else if (
      allowed !== null &&
      response.headers.get('Access-Control-Allow-Credentials') !== 'true'
    )
      problems.push(`${label}: an allowed origin without Access-Control-Allow-Credentials`);
  }
  return problems.length === 0
    ? green('cors', 'a foreign origin gets no grant; no wildcard')
    : red('cors', problems.join('; '));
}

export async function checkJWKS(probe: Probe): Promise<CheckResult> {
  const response = await probe.fetch(`${probe.tenantBase}/.well-known/jwks.json`);
  const body = await jsonOf(response);
  if (response.status === 404 && probe.options.tenant === null)
    return yellow('jwks', 'skipped: no tenant at the base URL; pass --tenant');
  if (response.status !== 200 || !Array.isArray(body?.keys))
    return red('jwks', `jwks.json answered ${response.status}${errorOf(body)}`);
  const keys = body.keys as Array<Record<string, unknown>>;
  if (keys.length === 0) return red('jwks', 'no keys published');
  const leaking = keys.filter((key) => PRIVATE_JWK_MEMBERS.some((member) => member in key));
  if (leaking.length > 0) return red('jwks', `${leaking.length} key(s) publish private members`);
  if (keys.some((key) => typeof key.kid !== 'string')) return red('jwks', 'a key without kid');
  return green('jwks', `${keys.length} public key(s)`);
}

/** OIDC discovery at {issuer}/.well-known/openid-configuration, checked where it is served. */
export async function checkDiscovery(probe: Probe): Promise<CheckResult> {
  if (probe.options.tenant === null)
    return yellow('discovery', 'skipped: the issuer names a tenant; pass --tenant');
  const response = await probe.fetch(`${probe.tenantBase}/.well-known/openid-configuration`);
  if (response.status === 404) return yellow('discovery', 'skipped: not served (404)');
  const body = await jsonOf(response);
  if (response.status !== 200 || body === null)
    return red('discovery', `openid-configuration answered ${response.status}${errorOf(body)}`);
  const problems: string[] = [];
  if (body.issuer !== probe.tenantBase)
    problems.push(`issuer ${String(body.issuer)} is not ${probe.tenantBase}`);
  for (const member of ['jwks_uri', 'authorization_endpoint', 'token_endpoint'] as const) {
    const value = body[member];
    if (typeof value !== 'string') problems.push(`no ${member}`);
    else if (new URL(value).protocol !== 'https:' && !isLoopback(new URL(value)))
      problems.push(`${member} is not https`);
  }
  return problems.length === 0
    ? green('discovery', `issuer ${String(body.issuer)}`)
    : red('discovery', problems.join('; '));
}

/**
 * The rate limiter's Redis, through the metrics endpoint (it reads the same store and has no
 * side effects): a 200 proves Redis answers. Needs an API key with metrics:read.
 */
export async function checkRateLimiter(probe: Probe): Promise<CheckResult> {
  if (probe.options.apiKey === null)
    return yellow('rate-limiter', 'skipped: read-only; pass --api-key (scope metrics:read)');
  const response = await probe.fetch(`${probe.base}/admin/api/v1/metrics`, {
    headers: { Authorization: `Bearer ${probe.options.apiKey}` },
  });
  if (response.status === 200)
    return green('rate-limiter', 'its Redis answers (metrics read back)');
  const body = await jsonOf(response);
  if (response.status === 403)
    return yellow('rate-limiter', 'skipped: the API key lacks metrics:read');
  return red('rate-limiter', `metrics endpoint answered ${response.status}${errorOf(body)}`);
}
