// The console's metrics page: the figures of GET /admin/api/v1/metrics (read from the real Redis)
// as a table, in one SQL round trip; a metrics store that does not answer is a 503 page.
import { beforeAll, describe, expect, it } from 'vitest';
import { CookieJar, makeTenant, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { openPage, submit } from '../pages/helpers.ts';
import { makeOperator } from '../admin/fixtures.ts';

let jar: CookieJar;
let tenant: TestTenant;

beforeAll(async () => {
  const operator = await makeOperator();
  jar = new CookieJar();
  const csrf = (await openPage('/admin/login', jar)).csrf;
  const sent = await submit(
    '/admin/login',
    { csrf_token: csrf, email: operator.email, password: operator.password },
    jar,
  );
  expect(sent.response.status).toBe(303);
  jar.store(sent.response);
  tenant = await makeTenant();
  const login = await send(
    `${tenant.base}/v1/auth/login`,
    jsonRequest('POST', { email: 'nobody@example.com', password: 'not the password' }),
  );
  expect(login.response.status).toBe(401);
});

describe('console metrics', () => {
  it('shows the request counters of a tenant as table rows, in one round trip', async () => {
    const sent = await send('/admin/metrics', { headers: jar.header() });
    expect(sent.response.status).toBe(200);
    const body = await sent.response.text();
    const row = new RegExp(
      `<code>gatehouse_http_requests_total</code></td>\\s*<td><code>tenant=&quot;${tenant.slug}&quot;, route=&quot;/v1/auth/login&quot;, method=&quot;POST&quot;, status_class=&quot;4xx&quot;, status=&quot;401&quot;</code></td>\\s*<td>1</td>`,
    );
    expect(body).toMatch(row);
    expect(await sent.roundTrips()).toBe(1);
  });

  it('answers 503 with a page when the metrics store does not answer', async () => {
    const sent = await send(
      '/admin/metrics',
      { headers: jar.header() },
      {
        app: {
          overrideDeps: (deps) => ({
            config: { ...deps.config, redis: { url: 'http://127.0.0.1:9', token: 'x' } },
          }),
        },
      },
    );
    expect(sent.response.status).toBe(503);
    expect(await sent.response.text()).toContain('There is a problem');
  });
});
