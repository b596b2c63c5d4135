// The WebAuthn relying party: RP_ID / RP_ORIGIN defaults and their production refusal, and the
// per-tenant setting (origins outside the RP id dropped, none left refused).
import { describe, expect, it } from 'vitest';
import { validateEnv } from '../../../src/env.ts';
import { relyingParty } from '../../../src/features/passkeys/relying-party.ts';
import type { Tenant } from '../../../src/features/tenants/context.ts';
import { tenantSettingsSchema } from '../../../src/features/tenants/settings.ts';
import { testConfig } from '../fixtures.ts';

const PRODUCTION = {
  ENVIRONMENT: 'production',
  PUBLIC_BASE_URL: 'https://auth.example.com',
  SECRET_KEY: 'cHJvZHVjdGlvbi1saWtlLXNlY3JldC1rZXktZm9yLXRlc3RzLTAwMDAwMDA',
  DATABASE_URL: 'postgres://u:p@db.example.com/gatehouse?sslmode=require',
  UPSTASH_REDIS_REST_URL: 'https://r.upstash.io',
  UPSTASH_REDIS_REST_TOKEN: 't',
};

function problemsFor(extra: Record<string, string>): string[] {
  const result = validateEnv({ ...PRODUCTION, ...extra });
  return result.ok ? [] : result.problems.map((p) => p.setting);
}

describe('RP_ID and RP_ORIGIN', () => {
  it('default to PUBLIC_BASE_URL', () => {
    const result = validateEnv(PRODUCTION);
    expect(result.ok && result.config.webauthn).toEqual({
      rpID: 'auth.example.com',
      rpOrigin: 'https://auth.example.com',
    });
  });

  it('accept the origin host or a parent domain of it as the RP id', () => {
    expect(problemsFor({ RP_ID: 'auth.example.com' })).toEqual([]);
    expect(problemsFor({ RP_ID: 'example.com' })).toEqual([]);
    expect(problemsFor({ RP_ID: 'example.com', RP_ORIGIN: 'https://login.example.com' })).toEqual(
      [],
    );
  });

  it('refuse in production an RP id the origin is not within, and a plain-http RP origin', () => {
    expect(problemsFor({ RP_ID: 'other.com' })).toEqual(['RP_ID']);
    expect(problemsFor({ RP_ID: 'ample.com' })).toEqual(['RP_ID']);
    expect(problemsFor({ RP_ID: 'login.auth.example.com' })).toEqual(['RP_ID']);
    expect(problemsFor({ RP_ORIGIN: 'http://auth.example.com' })).toEqual(['RP_ORIGIN']);
    expect(problemsFor({ RP_ORIGIN: 'not an origin' })).toContain('RP_ORIGIN');
  });
});

describe('a tenant’s relying party', () => {
  const tenant: Tenant = {
    id: '00000000-0000-4000-8000-000000000000',
    slug: 'acme',
    name: 'Acme',
    settings: tenantSettingsSchema.parse({}),
    corsOrigins: ['https://app.gatehouse.test', 'https://elsewhere.example'],
  };

  it('defaults to the deployment RP and keeps only CORS origins within it', () => {
    const rp = relyingParty(testConfig(), tenant, { by: 'slug', slug: 'acme' }, {});
    expect(rp).toEqual({
      id: 'gatehouse.test',
      name: 'Acme',
      origins: ['https://gatehouse.test', 'https://app.gatehouse.test'],
    });
  });

  it('uses the custom hostname the tenant was reached on', () => {
    const rp = relyingParty(
      testConfig(),
      tenant,
      { by: 'hostname', hostname: 'login.acme.example' },
      {},
    );
    expect(rp.id).toBe('login.acme.example');
    expect(rp.origins).toEqual(['https://login.acme.example']);
  });

  it('takes the tenant setting, and refuses one that leaves no origin inside the RP id', () => {
    const settings = { webauthn: { rpId: 'elsewhere.example', rpName: 'Acme Login' } };
    expect(relyingParty(testConfig(), tenant, { by: 'slug', slug: 'acme' }, settings)).toEqual({
      id: 'elsewhere.example',
      name: 'Acme Login',
      origins: ['https://elsewhere.example'],
    });
    expect(() =>
      relyingParty(
        testConfig(),
        tenant,
        { by: 'slug', slug: 'acme' },
        { webauthn: { rpId: 'nowhere.example' } },
      ),
    ).toThrow(expect.objectContaining({ code: 'misconfigured' }));
  });
});
