// Test fixtures: a fresh tenant per test (tenants isolate test files sharing one database), a
// cookie jar, and direct database access for assertions.
import { createDatabase, type Database } from '../../src/db/client.ts';
import { cryptoRandom } from '../../src/deps.ts';
import { loadConfig, type Config } from '../../src/env.ts';
import { createTenant, type CreateTenantInput } from '../../src/features/tenants/service.ts';
import type { Tenant } from '../../src/features/tenants/context.ts';
import { testEnv } from './harness.ts';

export function testConfig(): Config {
  const result = loadConfig(testEnv);
  if (!result.ok) throw new Error(`test configuration invalid: ${JSON.stringify(result.problems)}`);
  return result.config;
}

export function testDB(): Database {
  return createDatabase(testConfig());
}

export function uniqueSlug(prefix = 't'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface TestTenant extends Tenant {
  /** Path prefix of the tenant's API. */
  base: string;
}

export async function makeTenant(input: Partial<CreateTenantInput> = {}): Promise<TestTenant> {
  const config = testConfig();
  const tenant = await createTenant(
    { db: testDB(), secretKey: config.secretKey, random: cryptoRandom },
    { slug: uniqueSlug(), name: 'Test tenant', ...input },
  );
  return { ...tenant, base: `/t/${tenant.slug}` };
}

export function uniqueEmail(): string {
  return `user-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/** A minimal cookie jar: name → value from Set-Cookie, sent back as one Cookie header. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { Cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }
}
