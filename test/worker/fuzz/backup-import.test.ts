// Fuzz: the backup import (POST /admin/api/v1/tenants/import), multipart uploads of junk: bytes
// that are no archive, a bkp1 header with hostile metadata, hostile passphrases and slugs, broken
// multipart bodies and wrong content types. The passphrase KDF is replaced by a fast one (run.ts):
// a junk archive would otherwise cost 600,000 PBKDF2 iterations per request.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../admin/fixtures.ts';
import { anyText, forbiddenText, headerText, jsonValue, oddText } from './arbitraries.ts';
import { fuzzTimeout, runFamily, type FuzzRequest } from './run.ts';
import { fuzzOperator, ownRows, type FuzzOperator } from './setup.ts';

let admin: FuzzOperator;

beforeAll(async () => {
  admin = await fuzzOperator();
});

const MAGIC = [0x62, 0x6b, 0x70, 0x31];
const metadata = fc.oneof(
  jsonValue(anyText),
  fc.record(
    {
      formatVersion: fc.oneof(fc.constant(1), fc.integer()),
      schemaVersion: fc.oneof(fc.nat(), anyText),
      tenantSlug: anyText,
      exportedAt: fc.oneof(anyText, fc.constant('2026-01-01T00:00:00.000Z')),
      kdf: fc.record({
        name: fc.constantFrom('PBKDF2-HMAC-SHA-256', 'scrypt', ''),
        iterations: fc.oneof(fc.constant(600_000), fc.integer(), fc.constant(1e308)),
      }),
      cipher: fc.constantFrom('AES-256-GCM-STREAM', 'none'),
      segmentSize: fc.oneof(fc.constant(65_536), fc.integer()),
      compression: fc.constantFrom('none', 'gzip', 'zip'),
      content: fc.constantFrom('ndjson', 'csv'),
    },
    { requiredKeys: [] },
  ),
);

const archive: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.uint8Array({ maxLength: 512 }).map((rest) => Uint8Array.from([...MAGIC, ...rest])),
  fc
    .tuple(metadata, fc.oneof(fc.constant(-1), fc.nat()), fc.uint8Array({ maxLength: 1024 }))
    .map(([meta, lie, rest]) => {
      const json = new TextEncoder().encode(JSON.stringify(meta) ?? 'null');
      const length = lie < 0 ? json.length : lie;
      const prefix = new Uint8Array(8);
      prefix.set(MAGIC);
      new DataView(prefix.buffer).setUint32(4, length >>> 0, false);
      return Uint8Array.from([...prefix, ...json, ...rest]);
    }),
);

const textField = fc.oneof(forbiddenText, oddText, fc.constant('a long enough passphrase ok'));

const upload: fc.Arbitrary<FuzzRequest> = fc.oneof(
  // A well-formed form whose contents are junk.
  fc
    .record({
      file: fc.option(archive, { nil: undefined }),
      fileAsText: fc.boolean(),
      passphrase: fc.option(textField, { nil: undefined }),
      slug: fc.option(textField, { nil: undefined }),
      passphraseAsFile: fc.boolean(),
      auth: fc.constantFrom('key', 'cookie', 'none', 'junk'),
    })
    .map((plan) => ({
      label: `form file=${plan.file?.length ?? 'none'} passphrase=${JSON.stringify(plan.passphrase)?.slice(0, 80)} slug=${JSON.stringify(plan.slug)?.slice(0, 80)} auth=${plan.auth}`,
      mustRefuse: true,
      build: () => {
        const form = new FormData();
        if (plan.file !== undefined) {
          if (plan.fileAsText) form.set('file', new TextDecoder().decode(plan.file));
          else form.set('file', new File([plan.file], 'x.bkp1'));
        }
        if (plan.passphrase !== undefined) {
          if (plan.passphraseAsFile) form.set('passphrase', new File([plan.passphrase], 'p'));
          else form.set('passphrase', plan.passphrase);
        }
        if (plan.slug !== undefined) form.set('slug', plan.slug);
        const headers: Record<string, string> =
          plan.auth === 'key'
            ? bearer(admin.key)
            : plan.auth === 'cookie'
              ? admin.operator.jar.header()
              : plan.auth === 'junk'
                ? { Authorization: 'Bearer junk' }
                : {};
        return new Request('https://gatehouse.test/admin/api/v1/tenants/import', {
          method: 'POST',
          body: form,
          headers,
        });
      },
    })),
  // A body that is not the multipart it claims, or not multipart at all.
  fc
    .record({
      contentType: fc.oneof(
        fc.constantFrom(
          'multipart/form-data; boundary=x',
          'multipart/form-data; boundary=',
          'multipart/form-data;',
          'multipart/form-data',
          'application/json',
          'application/octet-stream',
        ),
        headerText.map((t) => `multipart/form-data; boundary=${t}`),
      ),
      body: fc.oneof(
        fc.uint8Array({ maxLength: 2048 }),
        fc
          .tuple(anyText, fc.uint8Array({ maxLength: 256 }))
          .map(([name, bytes]) =>
            Uint8Array.from([
              ...new TextEncoder().encode(
                `--x\r\nContent-Disposition: form-data; name="${name}"; filename="a"\r\n\r\n`,
              ),
              ...bytes,
            ]),
          ),
      ),
    })
    .map(({ contentType, body }) => ({
      label: `raw ${contentType.slice(0, 80)} ${body.length} bytes`,
      mustRefuse: true,
      build: () =>
        new Request('https://gatehouse.test/admin/api/v1/tenants/import', {
          method: 'POST',
          body,
          headers: { ...bearer(admin.key), 'Content-Type': contentType },
        }),
    })),
);

describe('fuzz: backup import', () => {
  it(
    'answers every junk upload with a coded 4xx, never a 5xx, and writes no row',
    async () => {
      const owners = { operatorId: admin.operator.id, keyId: admin.keyId };
      const before = await ownRows(owners);
      expect(Object.keys(before).length, 'tables in the snapshot').toBeGreaterThan(2);
      const report = await runFamily('backup-import', upload);
      expect(report.serverErrors).toBe(0);
      expect(await ownRows(owners)).toEqual(before);
    },
    fuzzTimeout(),
  );
});
