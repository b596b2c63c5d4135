import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

/** A fixed key for tests only (not the published example, which production refuses). */
export const TEST_SECRET_KEY = 'dGVzdC1vbmx5LXNlY3JldC1rZXktZm9yLWdhdGVob3VzZS10ZXN0cy0wMDA';

export default defineConfig({
  test: {
    // Vitest's default is one worker per core less one: a single file at a time on a 2-core CI
    // machine. Most files wait (timing floors, SMTP, dev stacks, browsers) rather than compute, so
    // three at once keeps the suite inside its CI bound; the fault project stays one file at a time.
    maxWorkers: 3,
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: './src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ENVIRONMENT: 'test',
                PUBLIC_BASE_URL: 'https://gatehouse.test',
                SECRET_KEY: TEST_SECRET_KEY,
                DATABASE_URL: inject('databaseURL'),
                UPSTASH_REDIS_REST_URL: inject('upstashURL'),
                UPSTASH_REDIS_REST_TOKEN: inject('upstashToken'),
                DEV_NEON_HTTP_ENDPOINT: inject('neonHTTPEndpoint'),
                DEV_NEON_WS_PROXY: inject('neonWSProxy'),
                TEST_NEON_CONTROL_URL: inject('neonControlURL'),
                TEST_SCRATCH_DATABASE_URL: inject('scratchDatabaseURL'),
                TEST_BOOTSTRAP_DATABASE_URL: inject('bootstrapDatabaseURL'),
                TEST_ROTATION_DATABASE_URL: inject('rotationDatabaseURL'),
                DEFAULT_TENANT: '',
                LOG_LEVEL: 'info',
                SMTP_URL: inject('smtpURL'),
                MAIL_FROM: 'Gatehouse Tests <no-reply@gatehouse.test>',
                TEST_SMTP_CONTROL_URL: inject('smtpControlURL'),
                // Upstream identity providers (test/federation/upstream.ts).
                TEST_FEDERATION_ISSUER: inject('federationIssuer'),
                TEST_FEDERATION_ROGUE_ISSUER: inject('federationRogueIssuer'),
                DEV_SOCIAL_BASE_URL: inject('federationSocialBaseURL'),
                // The fuzz suite (test/worker/fuzz): a fixed seed unless one is asked for.
                GATEHOUSE_FUZZ_SEED: process.env.GATEHOUSE_FUZZ_SEED ?? '',
                GATEHOUSE_FUZZ_RUNS: process.env.GATEHOUSE_FUZZ_RUNS ?? '',
              },
            },
          })),
        ],
        test: {
          name: 'worker',
          include: ['test/worker/**/*.test.ts'],
          globalSetup: ['./test/global-setup.ts', './test/federation/global-setup.ts'],
          setupFiles: ['./test/worker/setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The fault suite (test/faults): its own PostgreSQL and redis-server, paused and killed
        // by the tests, with short deadlines so each scenario ends in seconds.
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: './src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ENVIRONMENT: 'test',
                PUBLIC_BASE_URL: 'https://gatehouse.test',
                SECRET_KEY: TEST_SECRET_KEY,
                DATABASE_URL: inject('databaseURL'),
                UPSTASH_REDIS_REST_URL: inject('upstashURL'),
                UPSTASH_REDIS_REST_TOKEN: inject('upstashToken'),
                DEV_NEON_HTTP_ENDPOINT: inject('neonHTTPEndpoint'),
                DEV_NEON_WS_PROXY: inject('neonWSProxy'),
                TEST_NEON_CONTROL_URL: inject('neonControlURL'),
                TEST_FAULT_CONTROL_URL: inject('faultControlURL'),
                TEST_FAULT_SKIP_REASON: inject('faultSkipReason'),
                DATABASE_STATEMENT_TIMEOUT_MS: '1000',
                DATABASE_REQUEST_TIMEOUT_MS: '2500',
                DEFAULT_TENANT: '',
                LOG_LEVEL: 'info',
              },
            },
          })),
        ],
        test: {
          name: 'faults',
          include: ['test/faults/faults.test.ts'],
          globalSetup: ['./test/faults/global-setup.ts'],
          setupFiles: ['./test/worker/setup.ts'],
          // One file at a time: a paused database would fail the other file's requests.
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
    ],
  },
});
