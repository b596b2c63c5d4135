// The two per-request costs cut in issue 18, measured alone in Node (CPU time of this process,
// 2,000 calls after 200 warm-up calls): building the drizzle instance with the relational schema,
// and verifying an ES256 access token with jose's key set built per call versus kept.
//
//   node scripts/bench/micro.ts
import { neon } from '@neondatabase/serverless';
import { drizzle } from 'drizzle-orm/neon-http';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import * as schema from '../../src/db/schema.ts';

const CALLS = 2_000;
const WARM_UP = 200;

async function cpuMsPerCall(name: string, call: () => unknown): Promise<void> {
  for (let i = 0; i < WARM_UP; i++) await call();
  const before = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await call();
  const used = process.cpuUsage(before);
  const ms = (used.user + used.system) / 1000 / CALLS;
  console.log(`${name.padEnd(48)} ${ms.toFixed(3)} ms CPU per call`);
}

const client = neon('postgres://bench@localhost/bench');
await cpuMsPerCall('drizzle({ client, schema })', () => drizzle({ client, schema }));

const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
const token = await new SignJWT({})
  .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
  .setIssuer('https://issuer.example')
  .setAudience('bench')
  .setExpirationTime('1h')
  .sign(privateKey);
const options = { issuer: 'https://issuer.example', audience: 'bench', algorithms: ['ES256'] };
await cpuMsPerCall('jwtVerify, createLocalJWKSet per call', () =>
  jwtVerify(token, createLocalJWKSet({ keys: [jwk] }), options),
);
const keySet = createLocalJWKSet({ keys: [jwk] });
await cpuMsPerCall('jwtVerify, key set kept', () => jwtVerify(token, keySet, options));
