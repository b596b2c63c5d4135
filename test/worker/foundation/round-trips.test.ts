// Issue 2, items 5 and 7: the local Neon endpoint counts SQL round trips per X-Request-Id, so tests
// can hold each endpoint to a budget. One HTTP call to /sql is one round trip, whether it carries
// one statement or a batch; the Worker's database client tags each call with the request id.
import { neon, neonConfig } from '@neondatabase/serverless';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../../../src/db/client.ts';
import { runInRequestScope } from '../../../src/request-scope.ts';
import { roundTrips, send, testEnv } from '../harness.ts';

let sequence = 0;
const freshId = (label: string): string => `rt-${label}-${Date.now().toString(36)}-${sequence++}`;

const saved = { fetchEndpoint: neonConfig.fetchEndpoint, fetchFunction: neonConfig.fetchFunction };
afterEach(() => {
  neonConfig.fetchEndpoint = saved.fetchEndpoint;
  neonConfig.fetchFunction = saved.fetchFunction;
});

/** Neon's own driver, tagging every call with `requestId` the way the Worker's client does. */
function driverTagged(requestId: string): ReturnType<typeof neon> {
  neonConfig.fetchEndpoint = testEnv.DEV_NEON_HTTP_ENDPOINT ?? '';
  neonConfig.fetchFunction = (input: string, init: RequestInit): Promise<Response> => {
    const headers = new Headers(init.headers);
    headers.set('X-Request-Id', requestId);
    return fetch(input, { ...init, headers });
  };
  return neon(testEnv.DATABASE_URL ?? '');
}

describe('round-trip counter', () => {
  it('charges /health nothing and /health/ready exactly one round trip', async () => {
    const health = await send('/health');
    expect(await health.roundTrips()).toBe(0);
    const ready = await send('/health/ready');
    expect(ready.response.status).toBe(200);
    expect(await ready.roundTrips()).toBe(1);
  });

  it('counts an id nobody used as zero', async () => {
    expect(await roundTrips(freshId('unused'))).toBe(0);
  });

  it('counts each statement sent through the driver as one round trip', async () => {
    const id = freshId('driver');
    const query = driverTagged(id);
    await query`select 1`;
    expect(await roundTrips(id)).toBe(1);
    await query`select 2`;
    expect(await roundTrips(id)).toBe(2);
  });

  it('counts a batch of statements as one round trip', async () => {
    const id = freshId('batch');
    const query = driverTagged(id);
    const results = await query.transaction([
      query`select 1 as a`,
      query`select 2 as b`,
      query`select 3 as c`,
    ]);
    expect(results).toHaveLength(3);
    expect(await roundTrips(id)).toBe(1);
  });

  it("counts the Worker's own database client per request: two queries cost 2, a batch 1", async () => {
    const db = createDatabase({
      databaseURL: testEnv.DATABASE_URL ?? '',
      dev: { neonHTTPEndpoint: testEnv.DEV_NEON_HTTP_ENDPOINT ?? null, neonWSProxy: null },
    });
    const twoQueries = freshId('two-queries');
    await runInRequestScope({ requestId: twoQueries }, async () => {
      await db.execute(sql`select 1`);
      await db.execute(sql`select 2`);
    });
    expect(await roundTrips(twoQueries)).toBe(2);

    const batched = freshId('batched');
    await runInRequestScope({ requestId: batched }, () =>
      db.batch([db.execute(sql`select 1`), db.execute(sql`select 2`)]),
    );
    expect(await roundTrips(batched)).toBe(1);
  });
});
