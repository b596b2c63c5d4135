// The first-owner bootstrap code, from the command line. `npm run db:migrate` issues one when the
// deployment has no operator and no live code; `npm run cli -- bootstrap-code` always issues a
// fresh one (voiding earlier ones). The code is printed here once and stored only as a hash.
import type { Database } from '../../src/db/client.ts';
import { cryptoRandom, systemClock } from '../../src/deps.ts';
import {
  BOOTSTRAP_CODE_TTL_SECONDS,
  issueBootstrapCode,
} from '../../src/features/operators/bootstrap.ts';
import { openDatabase } from '../lib/database.ts';

/** Issues and prints a code; says why not when none is issued. Returns whether one was. */
export async function printBootstrapCode(
  db: Database,
  log: (line: string) => void,
  options: { replace: boolean },
): Promise<boolean> {
  const result = await issueBootstrapCode(
    { db, clock: systemClock, random: cryptoRandom },
    options,
  );
  if (result.issued) {
    log(
      `Bootstrap code (valid ${BOOTSTRAP_CODE_TTL_SECONDS / 60} minutes, shown only now): ${result.code}`,
    );
    log(
      'Create the first owner: POST /admin/api/v1/bootstrap {"code": "…", "email": "…", "password": "…"}',
    );
    return true;
  }
  if (result.reason === 'code_live') {
    log(
      `A bootstrap code issued earlier is valid until ${result.expiresAt.toISOString()}; ` +
        '`npm run cli -- bootstrap-code` issues a new one.',
    );
  } else if (options.replace) {
    log('An owner exists: bootstrap is closed. Owners create further operators in the admin API.');
  }
  return false;
}

export async function bootstrapCodeCommand(databaseURL: string): Promise<number> {
  if (databaseURL === '') throw new Error('DATABASE_URL is not set');
  const { db, close } = await openDatabase(databaseURL);
  try {
    return (await printBootstrapCode(db, (line) => console.log(line), { replace: true })) ? 0 : 1;
  } finally {
    await close();
  }
}
