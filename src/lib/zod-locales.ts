// Stands in for zod's `locales` namespace in the deploy bundle (wrangler.toml [alias]): zod
// re-exports all of its locales as `z.locales`, which esbuild cannot tree-shake: about 260 KiB
// of the minified bundle. The service speaks English only and never reads `z.locales`; zod's
// own default (English) is imported by zod directly, not through this namespace.
export { default as en } from 'zod/v4/locales/en.js';
