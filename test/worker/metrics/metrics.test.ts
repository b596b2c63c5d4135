// Metrics (issue 16): real requests write their counters to the shared Redis, labelled by the
// route template and the confirmed tenant; GET /admin/api/v1/metrics exposes them in the
// Prometheus text format (checked with parse-prometheus-text-format, a maintained parser), behind
// the metrics:read scope; Analytics Engine gets a point per request when bound.
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTotals, readWindow } from '../../../src/features/metrics/store.ts';
import type { TenantCounters } from '../../../src/features/metrics/samples.ts';
import { checklistFigures } from '../../../src/features/metrics/figures.ts';
import { ADMIN, bearer, makeKey, makeOperator, type TestOperator } from '../admin/fixtures.ts';
import { makeTenant, testConfig, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, testEnv } from '../harness.ts';
import { PASSWORD, enableTOTP, passwordLogin, registerUser } from '../mfa/helpers.ts';

const LOGIN = 'POST|/v1/auth/login';
const CHALLENGE = 'POST|/v1/auth/mfa/challenge';

async function countersOf(slug: string): Promise<TenantCounters> {
  const totals = await readTotals(testConfig().redis!, new Date(), { only: slug });
  return totals.get(slug) ?? new Map();
}

function latencyCount(counters: TenantCounters, series: string): number {
  let total = 0;
  for (const [field, value] of counters) if (field.startsWith(`lat|${series}|`)) total += value;
  return total;
}

let operator: TestOperator;
let tenant: TestTenant;
let email: string;

beforeAll(async () => {
  operator = await makeOperator();
  // One MFA challenge per window, so the second is a 429 of the mfa.challenge policy.
  tenant = await makeTenant({
    settings: { rateLimits: { 'mfa.challenge': { limit: 1, windowSeconds: 600 } } },
  });
  const user = await registerUser(tenant);
  email = user.email;
  await enableTOTP(tenant, user);

  const wrong = await send(
    `${tenant.base}/v1/auth/login`,
    jsonRequest('POST', { email, password: 'not the password' }),
  );
  expect(wrong.response.status).toBe(401);
  const unknown = await send(
    `${tenant.base}/v1/auth/login`,
    jsonRequest('POST', { email: uniqueEmail(), password: PASSWORD }),
  );
  expect(unknown.response.status).toBe(401);
  const right = await passwordLogin(tenant, email);
  expect(right.response.status).toBe(200);
  const { mfa_token } = await right.json<{ mfa_token: string }>();
  for (const expected of [401, 429]) {
    const challenge = await send(
      `${tenant.base}/v1/auth/mfa/challenge`,
      jsonRequest('POST', { mfa_token, code: '000000' }),
    );
    expect(challenge.response.status).toBe(expected);
  }
});

describe('metrics written for real requests', () => {
  it('counts logins by route template and exact status, with a latency sample each', async () => {
    const counters = await countersOf(tenant.slug);
    expect(counters.get(`req|${LOGIN}|401`)).toBe(2);
    expect(counters.get(`req|${LOGIN}|200`)).toBe(1);
    expect(latencyCount(counters, LOGIN)).toBe(3);
    expect(counters.get(`latsum|${LOGIN}`)).toBeGreaterThan(0);
    // Never the raw path: no field names the /t/{slug} prefix.
    expect([...counters.keys()].some((field) => field.includes('/t/'))).toBe(false);
  });

  it('counts login failures by reason, and the 401 and 429 of the MFA challenge', async () => {
    const counters = await countersOf(tenant.slug);
    expect(counters.get('lf|wrong_password')).toBe(1);
    expect(counters.get('lf|unknown_account')).toBe(1);
    expect(counters.get(`req|${CHALLENGE}|401`)).toBe(1);
    expect(counters.get(`req|${CHALLENGE}|429`)).toBe(1);
    expect(counters.get('rl|mfa.challenge')).toBe(1);
    expect(counters.get('rl|login.ip') ?? 0).toBe(0);
  });

  it('keeps per-minute counters too, from which the checklist figures come', async () => {
    const window = await readWindow(testConfig().redis!, tenant.slug, 15, new Date());
    expect(window.get(`req|${LOGIN}|401`)).toBe(2);
    const figures = checklistFigures(window);
    expect(figures.loginRequests).toBe(3);
    expect(figures.loginUnauthorizedRate).toBeCloseTo(2 / 3);
    expect(figures.mfaChallengeTooManyRate).toBeCloseTo(1 / 2);
    expect(figures.loginLatencyP95).toBeGreaterThan(0);
  });

  it('labels with the tenant only once the database confirmed it, and a 404 as unmatched', async () => {
    const slug = `nope-${Date.now().toString(36)}`;
    const sent = await send(
      `/t/${slug}/v1/auth/login`,
      jsonRequest('POST', { email, password: PASSWORD }),
    );
    expect(sent.response.status).toBe(404);
    expect(await readTotals(testConfig().redis!, new Date(), { only: slug })).toEqual(new Map());
    const before = (await countersOf('-')).get('req|GET|unmatched|404') ?? 0;
    expect((await send(`${tenant.base}/v1/no/such/${slug}`)).response.status).toBe(404);
    expect((await countersOf('-')).get('req|GET|unmatched|404')).toBe(before + 1);
    expect([...(await countersOf('-')).keys()].some((field) => field.includes(slug))).toBe(false);
  });

  it('writes with one Redis call after the answer and no database round trip', async () => {
    const sent = await send(`${tenant.base}/v1/no/such/path`);
    expect(sent.response.status).toBe(404);
    expect(await sent.roundTrips()).toBe(0);
    const redisCalls = sent.calls.filter((url) => url.startsWith(testEnv.UPSTASH_REDIS_REST_URL!));
    expect(redisCalls).toEqual([`${testEnv.UPSTASH_REDIS_REST_URL!.replace(/\/$/, '')}/pipeline`]);
  });

  it('answers the same when Redis is down, and logs the dropped sample', async () => {
    const sent = await send(
      `${tenant.base}/v1/no/such/path`,
      {},
      { env: { UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9' } },
    );
    expect(sent.response.status).toBe(404);
    expect(await sent.json()).toMatchObject({ error: 'not_found' });
    expect(sent.logs.join('\n')).toContain('metrics not written to Redis');
  });

  it('writes Analytics Engine data points when the METRICS binding is present', async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const METRICS = { writeDataPoint: (point?: AnalyticsEngineDataPoint) => points.push(point!) };
    const sent = await send(
      `${tenant.base}/v1/auth/login`,
      jsonRequest('POST', { email, password: 'still not it' }),
      { env: { METRICS } },
    );
    expect(sent.response.status).toBe(401);
    expect(points.map((point) => point.blobs)).toEqual([
      ['request', tenant.slug, '/v1/auth/login', 'POST', '4xx'],
      ['login_failure', tenant.slug, '/v1/auth/login', 'wrong_password'],
    ]);
    expect(points[0]!.indexes).toEqual([tenant.slug]);
    expect(points[0]!.doubles![1]).toBe(401);
  });
});

/**
 * parse-prometheus-text-format folds a histogram's samples into one unlabelled entry (its
 * prom2json flattening keeps buckets only when no other label is present), so the series of a
 * labelled histogram are read with its TYPE line removed: each of _bucket, _sum and _count then
 * parses as a family (one per series), labels and all.
 */
function parseSeries(text: string): ParsedFamily[] {
  return parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram\n/gm, ''));
}

describe('GET /admin/api/v1/metrics', () => {
  let families: ParsedFamily[];
  let series: ParsedFamily[];

  beforeAll(async () => {
    const { key } = await makeKey(operator, { scopes: ['metrics:read'] });
    const sent = await send(`${ADMIN}/metrics`, { headers: bearer(key) });
    expect(sent.response.status).toBe(200);
    expect(sent.response.headers.get('Content-Type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await sent.roundTrips()).toBe(1); // the key; the counters come from Redis
    const text = await sent.response.text();
    families = parsePrometheusTextFormat(text);
    series = parseSeries(text);
  });

  const family = (name: string) => families.find((f) => f.name === name)!;
  const mine = (f: ParsedFamily) => f.metrics.filter((m) => m.labels?.tenant === tenant.slug);

  it('exposes request counters labelled tenant, route, method, status class and status', () => {
    const requests = family('gatehouse_http_requests_total');
    expect(requests.type).toBe('COUNTER');
    expect(mine(requests)).toContainEqual({
      labels: {
        tenant: tenant.slug,
        route: '/v1/auth/login',
        method: 'POST',
        status_class: '4xx',
        status: '401',
      },
      value: expect.stringMatching(/^[1-9]\d*$/),
    });
    expect(mine(requests)).toContainEqual({
      labels: expect.objectContaining({ route: '/v1/auth/mfa/challenge', status: '429' }),
      value: '1',
    });
  });

  it('exposes a latency histogram with cumulative buckets, _sum and _count', () => {
    const name = 'gatehouse_http_request_duration_seconds';
    expect(family(name).type).toBe('HISTOGRAM');
    const labels = { tenant: tenant.slug, route: '/v1/auth/login', method: 'POST' };
    // Each histogram series is its own run of lines, so each parses as a family of its own.
    const ofLogin = (suffix: string) =>
      series
        .filter((f) => f.name === `${name}_${suffix}`)
        .flatMap((f) => f.metrics)
        .filter((m) => m.labels?.tenant === tenant.slug && m.labels.route === labels.route);
    const buckets = ofLogin('bucket');
    expect(buckets.map((m) => m.labels?.le)).toEqual([
      ...['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10'],
      '+Inf',
    ]);
    expect(buckets.every((m) => m.labels!.method === 'POST')).toBe(true);
    const counts = buckets.map((m) => Number(m.value));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    const [count] = ofLogin('count');
    expect(count).toEqual({ labels, value: String(counts.at(-1)) });
    expect(Number(count!.value)).toBeGreaterThanOrEqual(3);
    expect(Number(ofLogin('sum')[0]!.value)).toBeGreaterThan(0);
  });

  it('exposes rate-limit refusals by policy and login failures by reason', () => {
    expect(mine(family('gatehouse_ratelimit_refusals_total'))).toEqual([
      { labels: { tenant: tenant.slug, policy: 'mfa.challenge' }, value: '1' },
    ]);
    expect(mine(family('gatehouse_login_failures_total'))).toContainEqual({
      labels: { tenant: tenant.slug, reason: 'unknown_account' },
      value: '1',
    });
  });

  it('needs the metrics:read scope: 401 without credentials, 403 without the scope', async () => {
    const anonymous = await send(`${ADMIN}/metrics`);
    expect(anonymous.response.status).toBe(401);
    const { key } = await makeKey(operator, { scopes: ['tenants:read', 'audit:read'] });
    const scoped = await send(`${ADMIN}/metrics`, { headers: bearer(key) });
    expect(scoped.response.status).toBe(403);
    expect(await scoped.json()).toMatchObject({ error: 'insufficient_scope' });
  });

  it("shows a key bound to one tenant that tenant's series only", async () => {
    const { key } = await makeKey(operator, { scopes: ['metrics:read'], tenant: tenant.slug });
    const sent = await send(`${ADMIN}/metrics`, { headers: bearer(key) });
    expect(sent.response.status).toBe(200);
    const tenants = new Set(
      parseSeries(await sent.response.text()).flatMap((f) =>
        f.metrics.map((m) => m.labels?.tenant),
      ),
    );
    expect([...tenants]).toEqual([tenant.slug]);
  });
});
