// Issue 11, "Dependencies that fail": which failures mean a dependency is down (503 with
// Retry-After) and which keep their meaning, the deadline settings, and the R2 and queue bounds.
// The real thing (a hung and a killed PostgreSQL, Redis, R2 mid-backup) is in test/faults/.
import { describe, expect, it } from 'vitest';
import { createDeps, boundedBucket } from '../../../src/deps.ts';
import {
  DependencyUnavailableError,
  failedDependency,
  unavailableAnswer,
} from '../../../src/dependencies.ts';
import {
  DEFAULT_DATABASE_REQUEST_TIMEOUT_MS,
  DEFAULT_DATABASE_STATEMENT_TIMEOUT_MS,
  validateEnv,
} from '../../../src/env.ts';
import { createLogger } from '../../../src/log.ts';
import { testConfig } from '../fixtures.ts';

function sqlError(code: string): Error {
  return Object.assign(new Error('driver error'), { code });
}

describe('failedDependency', () => {
  it('keeps query errors as they are: unique violation, bad input, missing table', () => {
    for (const code of ['23505', '22P02', '42P01', '40001'])
      expect(failedDependency(sqlError(code))).toBeNull();
    expect(failedDependency(new Error('plain'))).toBeNull();
  });

  it('reads connection failures, shutdowns and exhaustion as the database being down', () => {
    for (const code of ['08006', '08001', '57P01', '57P03', '53300'])
      expect(failedDependency(sqlError(code))).toBe('database');
  });

  it("finds the failure where drizzle (cause) and Neon's driver (sourceError) wrapped it", () => {
    const neon = Object.assign(new Error('Error connecting to database'), {
      sourceError: new DependencyUnavailableError('database', 'no answer'),
    });
    const drizzle = new Error('Failed query', { cause: neon });
    expect(failedDependency(drizzle)).toBe('database');
    expect(failedDependency(new Error('x', { cause: sqlError('57P01') }))).toBe('database');
  });

  it('answers 503 with Retry-After and the dependency’s code', () => {
    const cases = [
      ['database', 'database_unavailable'],
      ['r2', 'storage_unavailable'],
      ['queue', 'queue_unavailable'],
    ] as const;
    for (const [dependency, code] of cases) {
      const answer = unavailableAnswer(new DependencyUnavailableError(dependency, 'down'));
      expect(answer?.dependency).toBe(dependency);
      expect(answer?.error.code).toBe(code);
      expect(answer?.error.status).toBe(503);
      expect(Number(answer?.error.headers?.['Retry-After'])).toBeGreaterThan(0);
    }
    expect(unavailableAnswer(sqlError('23505'))).toBeNull();
  });
});

describe('deadline settings', () => {
  const base = {
    ENVIRONMENT: 'test',
    PUBLIC_BASE_URL: 'https://gatehouse.test',
    SECRET_KEY: 'dGVzdC1vbmx5LXNlY3JldC1rZXktZm9yLWdhdGVob3VzZS10ZXN0cy0wMDA',
    DATABASE_URL: 'postgres://u@h/db',
  };

  it('default to a few seconds', () => {
    const result = validateEnv(base);
    expect(result.ok && result.config.database).toEqual({
      statementTimeoutMs: DEFAULT_DATABASE_STATEMENT_TIMEOUT_MS,
      requestTimeoutMs: DEFAULT_DATABASE_REQUEST_TIMEOUT_MS,
    });
    expect(DEFAULT_DATABASE_STATEMENT_TIMEOUT_MS).toBeLessThanOrEqual(5_000);
    expect(DEFAULT_DATABASE_REQUEST_TIMEOUT_MS).toBeLessThanOrEqual(10_000);
  });

  it('take milliseconds and refuse nonsense, naming the setting', () => {
    const ok = validateEnv({
      ...base,
      DATABASE_STATEMENT_TIMEOUT_MS: '1500',
      DATABASE_REQUEST_TIMEOUT_MS: '3000',
    });
    expect(ok.ok && ok.config.database).toEqual({
      statementTimeoutMs: 1500,
      requestTimeoutMs: 3000,
    });
    for (const [setting, value] of [
      ['DATABASE_STATEMENT_TIMEOUT_MS', '2s'],
      ['DATABASE_STATEMENT_TIMEOUT_MS', '10'],
      ['DATABASE_REQUEST_TIMEOUT_MS', '999999'],
    ] as const) {
      const result = validateEnv({ ...base, [setting]: value });
      expect(result.ok ? [] : result.problems.map((p) => p.setting)).toEqual([setting]);
    }
    const inverted = validateEnv({
      ...base,
      DATABASE_STATEMENT_TIMEOUT_MS: '5000',
      DATABASE_REQUEST_TIMEOUT_MS: '1000',
    });
    expect(inverted.ok ? [] : inverted.problems.map((p) => p.setting)).toEqual([
      'DATABASE_REQUEST_TIMEOUT_MS',
    ]);
  });
});

describe('R2 and queue calls a request waits on', () => {
  const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

  it('a hung R2 list ends at the bound as storage unavailable', async () => {
    const hung = { list: () => never() } as unknown as R2Bucket;
    const started = Date.now();
    const error = await boundedBucket(hung, 100)
      .list()
      .catch((e: unknown) => e);
    expect(failedDependency(error)).toBe('r2');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a failing R2 head is storage unavailable, not a 500', async () => {
    const failing = {
      head: () => Promise.reject(new Error('internal error')),
    } as unknown as R2Bucket;
    expect(
      failedDependency(
        await boundedBucket(failing)
          .head('k')
          .catch((e: unknown) => e),
      ),
    ).toBe('r2');
  });

  it('a refused queue send is queue unavailable', async () => {
    const queue = {
      send: () => Promise.reject(new Error('Queue send failed')),
    } as unknown as Queue;
    const deps = createDeps({
      env: { MAIL_QUEUE: queue },
      config: testConfig(),
      log: createLogger('error'),
      waitUntil: () => undefined,
    });
    const error = await deps.mail
      .enqueue({
        tenantId: crypto.randomUUID(),
        to: 'someone@example.com',
        subject: 'A subject',
        text: 'text',
        html: '<p>html</p>',
        kind: 'test',
      })
      .catch((e: unknown) => e);
    expect(failedDependency(error)).toBe('queue');
  });
});
