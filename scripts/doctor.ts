// `npm run doctor -- --base-url https://auth.example.com [--tenant slug] [--api-key K] [--json]`
// Checks a running deployment from outside, as a client sees it: red or green per check, exit 1
// on any red (roll back), machine-readable with --json. Read-only unless --api-key is given.
import { parseArgs } from 'node:util';
import {
  checkCORS,
  checkDiscovery,
  checkHealth,
  checkJWKS,
  checkRateLimiter,
  checkReadiness,
  checkSecurityHeaders,
  checkTransport,
  createProbe,
  guarded,
  type CheckResult,
  type DoctorOptions,
} from './doctor/checks.ts';
import { checkCookies } from './doctor/smoke.ts';

const USAGE = `usage: npm run doctor -- --base-url <url> [--tenant <slug>] [--api-key <key>] [--json]

  --base-url   the deployment's PUBLIC_BASE_URL (with BASE_PATH)
  --tenant     the tenant whose API, JWKS and discovery to check (default: the base URL's tenant)
  --api-key    an admin API key (users:write, metrics:read): enables the smoke flow on a throwaway
               account (deleted afterwards) and the rate-limiter check; also read from
               GATEHOUSE_API_KEY
  --json       one JSON object on stdout`;

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const probe = createProbe(options);
  // Two checks from one set of requests: when those fail outright, the first one is red.
  const both = async (name: string, run: () => Promise<CheckResult[]>) => {
    let results: CheckResult[] = [];
    const first = await guarded(name, async () => {
      results = await run();
      return results[0]!;
    });
    return first.verdict === 'red' && results.length === 0 ? [first] : results;
  };
  return [
    await guarded('health', () => checkHealth(probe)),
    ...(await both('ready', () => checkReadiness(probe))),
    ...(await both('https', () => checkTransport(probe))),
    await guarded('security-headers', () => checkSecurityHeaders(probe)),
    await guarded('cors', () => checkCORS(probe)),
    await guarded('jwks', () => checkJWKS(probe)),
    await guarded('discovery', () => checkDiscovery(probe)),
    await guarded('rate-limiter', () => checkRateLimiter(probe)),
    await guarded('cookies', () => checkCookies(probe)),
  ];
}

function printHuman(base: string, results: CheckResult[]): void {
  const tty = process.stdout.isTTY;
  const paint = { green: '\x1b[32m', yellow: '\x1b[33m', red: '\x1b[31m' } as const;
  console.log(`gatehouse doctor: ${base}`);
  for (const { name, verdict, detail } of results) {
    const mark = verdict.toUpperCase().padEnd(6);
    const label = tty ? `${paint[verdict]}${mark}\x1b[0m` : mark;
    console.log(`  ${label} ${name.padEnd(17)} ${detail}`);
  }
  const reds = results.filter((result) => result.verdict === 'red').length;
  console.log(reds === 0 ? 'no red checks' : `${reds} red check(s)`);
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'base-url': { type: 'string' },
        tenant: { type: 'string' },
        'api-key': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const baseURL = values['base-url'];
  if (
    baseURL === undefined ||
    !URL.canParse(baseURL) ||
    !/^https?:$/.test(new URL(baseURL).protocol)
  ) {
    console.error(USAGE);
    return 2;
  }
  const options: DoctorOptions = {
    baseURL,
    tenant: values.tenant ?? null,
    apiKey: values['api-key'] ?? process.env.GATEHOUSE_API_KEY ?? null,
  };
  const results = await runDoctor(options);
  const ok = results.every((result) => result.verdict !== 'red');
  if (values.json) {
    console.log(JSON.stringify({ base_url: baseURL, tenant: options.tenant, ok, checks: results }));
  } else printHuman(baseURL, results);
  return ok ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
