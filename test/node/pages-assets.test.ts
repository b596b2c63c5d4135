// The hosted pages' browser script is a generated, checked-in module
// (src/features/pages/generated/pages-js.ts) so wrangler dev, deploy and the workerd test pool
// serve the same bytes. This fails when scripts/pages-client/pages.js or @simplewebauthn/browser
// changed and `npx node scripts/build-pages-assets.ts` was not run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED, renderPagesScriptModule } from '../../scripts/build-pages-assets.ts';

describe('generated pages script', () => {
  it('is up to date with its source and the bundled @simplewebauthn/browser', async () => {
    const fresh = await renderPagesScriptModule();
    expect(
      readFileSync(GENERATED, 'utf8') === fresh,
      'src/features/pages/generated/pages-js.ts is stale: run `npx node scripts/build-pages-assets.ts`',
    ).toBe(true);
  });
});
