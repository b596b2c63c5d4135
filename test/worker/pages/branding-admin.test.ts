// Branding through the admin API: a strict #rrggbb accent colour and an inline PNG/JPEG/WebP
// logo are stored and shown; a colour that could escape the stylesheet, an SVG logo or a remote
// URL (a third-party origin the page CSP would need) is refused with 400 and nothing written.
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { ADMIN, bearer, makeKey, makeOperator } from '../admin/fixtures.ts';

let tenant: TestTenant;
let key: string;

beforeAll(async () => {
  tenant = await makeTenant();
  key = (await makeKey(await makeOperator())).key;
});

function patch(branding: unknown) {
  return send(
    `${ADMIN}/tenants/${tenant.slug}`,
    jsonRequest('PATCH', { settings: { branding } }, bearer(key)),
  );
}

describe('tenant branding settings', () => {
  it('stores a #rrggbb accent, a display name and a data:image/png logo, served on the pages', async () => {
    const logo = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==';
    const sent = await patch({ display_name: 'Acme', accent_color: '#A1b2C3', logo });
    expect(sent.response.status).toBe(200);
    const got = await send(`${ADMIN}/tenants/${tenant.slug}`, { headers: bearer(key) });
    expect(await got.json()).toMatchObject({
      tenant: { settings: { branding: { display_name: 'Acme', accent_color: '#A1b2C3', logo } } },
    });
    const css = await send(`${tenant.base}/branding.css`);
    expect(await css.response.text()).toContain('--accent: #A1b2C3;');
  });

  it('refuses colours and logos that would loosen the page CSP, writing nothing', async () => {
    await patch({ accent_color: '#123456' });
    for (const bad of [
      { accent_color: 'red' },
      { accent_color: '#123456; } body { background: url(https://evil.example/x)' },
      { accent_color: '#12345' },
      { logo: 'https://cdn.example.com/logo.png' },
      { logo: 'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=' },
      { logo: 'data:image/png;base64,<script>' },
      { logo: `data:image/png;base64,${'A'.repeat(60_000)}` },
      { unknown: 1 },
    ]) {
      const sent = await patch(bad);
      expect(sent.response.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
    }
    const css = await send(`${tenant.base}/branding.css`);
    expect(await css.response.text()).toBe(':root { --accent: #123456; }\n');
  });
});
