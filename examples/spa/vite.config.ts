import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The SDK from this repository's source (the example is not a workspace of its own).
const client = (path: string): string =>
  fileURLToPath(new URL(`../../packages/client/src/${path}`, import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: [
      { find: /^@gatehouse\/client\/passkeys$/, replacement: client('passkeys.ts') },
      { find: /^@gatehouse\/client$/, replacement: client('index.ts') },
    ],
  },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
});
