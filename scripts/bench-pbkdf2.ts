// Measures the bkp1 key derivation, PBKDF2-HMAC-SHA-256 at 600,000 iterations, 32-byte output.
// On Workers the archive code derives it with @noble/hashes (WebCrypto is capped at 100,000 there);
// Node's WebCrypto and OpenSSL are measured alongside for comparison.
//
//   node scripts/bench-pbkdf2.ts [--runs=9]
//
// The same derivation inside workerd is timed (one run) and printed by
// `npx vitest run --project worker test/worker/backup/kdf.test.ts`.
import { pbkdf2Sync } from 'node:crypto';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { KDF_ITERATIONS } from '../src/features/backup/header.ts';
import { pbkdf2SHA256 } from '../src/lib/pbkdf2.ts';

const runsArgument = process.argv.find((arg) => arg.startsWith('--runs='));
const runs = runsArgument === undefined ? 9 : Number(runsArgument.slice('--runs='.length));
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const password = new TextEncoder().encode('a benchmark passphrase, not a secret');
const salt = crypto.getRandomValues(new Uint8Array(32));
const options = { iterations: KDF_ITERATIONS, keyLength: 32 };

async function measure(name: string, derive: () => Promise<unknown> | unknown): Promise<void> {
  await derive(); // warm-up: JIT, OpenSSL init
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await derive();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const format = (ms: number): string => `${ms.toFixed(0)} ms`;
  console.log(
    `${name.padEnd(46)} median ${format(median).padStart(8)}   ` +
      `min ${format(times[0]!).padStart(8)}   max ${format(times.at(-1)!).padStart(8)}`,
  );
}

console.log(
  `PBKDF2-HMAC-SHA-256, ${KDF_ITERATIONS} iterations, 32 bytes; ${runs} runs after one warm-up; ` +
    `Node ${process.version}, ${process.arch}`,
);
await measure('pbkdf2SHA256 (bkp1 path: @noble/hashes, sync)', () =>
  pbkdf2SHA256(password, salt, options),
);
await measure('@noble/hashes pbkdf2Async (asyncTick 10 ms)', () =>
  pbkdf2Async(sha256, password, salt, { c: KDF_ITERATIONS, dkLen: 32 }),
);
await measure('Node WebCrypto deriveBits', async () => {
  const key = await crypto.subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
  return crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: KDF_ITERATIONS },
    key,
    256,
  );
});
await measure('node:crypto pbkdf2Sync (OpenSSL)', () =>
  pbkdf2Sync(password, salt, KDF_ITERATIONS, 32, 'sha256'),
);
