// Issue 2, item 7: production limits that local workerd does not enforce are enforced in every
// worker test (test/worker/limits.ts). Sources: cloudflare/workerd#1346 for the PBKDF2 cap and
// its error text; Workers' documented 50 subrequests per request (free plan). The RFC 7914 §11
// PBKDF2-HMAC-SHA-256 vector shows calls under the cap still reach the real implementation.
import { describe, expect, it } from 'vitest';
import { encodeHex, utf8 } from '../../../src/lib/encoding.ts';
import { send, testEnv } from '../harness.ts';
import { MAX_SUBREQUESTS, requestBudget, type RequestBudget } from '../limits.ts';

async function pbkdf2Key(password: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', utf8.encode(password), 'PBKDF2', false, [
    'deriveBits',
    'deriveKey',
  ]);
}

function pbkdf2(iterations: number, salt = 'salt'): SubtleCryptoDeriveKeyAlgorithm {
  return { name: 'PBKDF2', hash: 'SHA-256', salt: utf8.encode(salt), iterations };
}

describe('PBKDF2 iteration cap', () => {
  it('derives with 80,000 iterations exactly as RFC 7914 §11 says', async () => {
    const bits = await crypto.subtle.deriveBits(
      pbkdf2(80_000, 'NaCl'),
      await pbkdf2Key('Password'),
      512,
    );
    expect(encodeHex(new Uint8Array(bits))).toBe(
      '4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56' +
        'a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d',
    );
  });

  it('allows exactly 100,000 iterations', async () => {
    const bits = await crypto.subtle.deriveBits(pbkdf2(100_000), await pbkdf2Key('pw'), 256);
    expect(bits.byteLength).toBe(32);
  });

  it('refuses 100,001 iterations in deriveBits with the production NotSupportedError', async () => {
    const key = await pbkdf2Key('pw');
    const error = await crypto.subtle.deriveBits(pbkdf2(100_001), key, 256).then(
      () => null,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('NotSupportedError');
    expect((error as DOMException).message).toBe(
      'Pbkdf2 failed: iteration counts above 100000 are not supported (requested 100001).',
    );
  });

  it('refuses 600,000 iterations in deriveKey too', async () => {
    const key = await pbkdf2Key('pw');
    const derive = crypto.subtle.deriveKey(
      pbkdf2(600_000),
      key,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt'],
    );
    await expect(derive).rejects.toMatchObject({
      name: 'NotSupportedError',
      message: 'Pbkdf2 failed: iteration counts above 100000 are not supported (requested 600000).',
    });
  });
});

describe('subrequest counter', () => {
  it(`lets a request make ${MAX_SUBREQUESTS} subrequests and fails the next one`, async () => {
    const budget: RequestBudget = { subrequests: 0, calls: [], logs: [] };
    const url = `${testEnv.TEST_NEON_CONTROL_URL}/__roundtrips/subrequest-counter`;
    const outcome = await requestBudget.run(budget, async () => {
      for (let i = 0; i < MAX_SUBREQUESTS; i++) {
        const response = await fetch(url);
        expect(response.status).toBe(200);
        await response.arrayBuffer();
      }
      return fetch(url).then(
        () => 'fetched',
        (error: unknown) => (error as Error).message,
      );
    });
    expect(outcome).toBe('Too many subrequests.');
    expect(budget.subrequests).toBe(MAX_SUBREQUESTS + 1);
    expect(budget.calls.slice(0, 1)).toEqual([url]);
  });

  it('counts per request: a fresh request starts again from zero', async () => {
    const first = await send('/health/ready');
    const second = await send('/health/ready');
    expect([first.subrequests, second.subrequests]).toEqual([1, 1]);
  });

  it('reports the subrequests a request made: /health 0, /health/ready 1', async () => {
    const health = await send('/health');
    expect(health.subrequests).toBe(0);
    const ready = await send('/health/ready');
    expect(ready.response.status).toBe(200);
    expect(ready.subrequests).toBe(1);
  });
});
