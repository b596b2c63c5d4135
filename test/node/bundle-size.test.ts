// The deploy bundle's size, held: `wrangler deploy --dry-run` builds it exactly as a deploy would
// (minified, wrangler.toml), and this fails when its gzip size, as wrangler reports it, passes the
// budget. The figure and the largest contributors are printed (README, "Benchmark").
import { readFileSync } from 'node:fs';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, bundleBreakdown, type BuiltBundle } from '../../scripts/bench/bundle.ts';

/**
 * KiB of gzip. Issue 18's goal is 300; the build is at 455 with federation, the console, the SDK's
 * service changes and privacy in (README, "Benchmark": zod, the Neon and Upstash clients, drizzle
 * and @simplewebauthn/server's certificate stack bound it), so the budget holds today's size with
 * a little headroom, and only goes down.
 */
const GZIP_BUDGET_KIB = 470;

let bundle: BuiltBundle;

beforeAll(async () => {
  bundle = await buildBundle();
}, 180_000);

afterAll(() => bundle?.remove());

describe('deploy bundle', () => {
  it(`stays within ${GZIP_BUDGET_KIB} KiB gzip`, () => {
    const top = bundleBreakdown(bundle.metafile, 10)
      .map(({ source, kib }) => `${kib.toFixed(0).padStart(6)} KiB  ${source}`)
      .join('\n');
    console.log(
      `bundle: ${bundle.uploadKiB} KiB, gzip ${bundle.gzipKiB} KiB (budget ${GZIP_BUDGET_KIB})\n` +
        `largest inputs (minified bytes in the output):\n${top}`,
    );
    expect(bundle.gzipKiB).toBeGreaterThan(0);
    expect(bundle.gzipKiB).toBeLessThanOrEqual(GZIP_BUDGET_KIB);
  });

  it('is minified (wrangler.toml minify = true)', () => {
    const code = readFileSync(bundle.file, 'utf8');
    // esbuild's unminified output starts each module with a `// path` comment line.
    expect(code.match(/^\/\/ \S*node_modules\//gm)?.length ?? 0).toBe(0);
  });

  it('runs in workerd, and zod still explains a refusal in English without its locales namespace', async () => {
    // wrangler.toml aliases zod's `locales` namespace away; zod's default messages come from its
    // own English locale, imported directly. An unconfigured deployment refuses with zod's
    // messages naming each missing setting: the text is what this test is about.
    const mf = new Miniflare({
      workers: [
        {
          config: {
            name: 'bundle',
            compatibilityDate: '2026-10-01',
            compatibilityFlags: ['nodejs_compat'],
            manifest: {
              mainModule: 'index.js',
              modules: { 'index.js': { type: 'esm', contents: readFileSync(bundle.file, 'utf8') } },
            },
          },
        },
      ],
    });
    try {
      const response = await mf.dispatchFetch('http://localhost/t/acme/v1/auth/session');
      const body = (await response.json()) as { error: string; error_description: string };
      expect(response.status).toBe(503);
      expect(body.error).toBe('misconfigured');
      expect(body.error_description).toMatch(/SECRET_KEY Invalid input: expected string/);
    } finally {
      await mf.dispose();
    }
  }, 120_000);
});
