// `npm run cli -- audit-verify --tenant <slug>` (or `--global` for operator events): recomputes the
// tenant's audit HMAC chain and reports the first broken link. Exit 0 intact, 1 broken.
import { sql } from 'drizzle-orm';
import { parseArgs } from 'node:util';
import { GLOBAL_CHAIN, verifyChain } from '../../src/features/audit/service.ts';
import { openDatabase } from '../lib/database.ts';

export interface CommandContext {
  secretKey: Uint8Array;
  secretKeyPrevious: Uint8Array | null;
  databaseURL: string;
}

export async function auditVerifyCommand(args: string[], context: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { tenant: { type: 'string' }, global: { type: 'boolean' } },
  });
  if (values.tenant === undefined && !values.global)
    throw new Error('--tenant <slug> or --global is required');
  const { db, close } = await openDatabase(context.databaseURL);
  try {
    let chainId = GLOBAL_CHAIN;
    if (values.tenant !== undefined) {
      const found = await db.execute(sql`select id from tenants where slug = ${values.tenant}`);
      if (found.rows[0] === undefined) throw new Error(`no tenant ${values.tenant}`);
      chainId = String(found.rows[0].id);
    }
    const result = await verifyChain(
      { db, secretKey: context.secretKey, secretKeyPrevious: context.secretKeyPrevious },
      chainId,
    );
    const name = values.tenant ?? 'deployment-wide';
    if (result.ok) {
      console.log(
        `audit chain of ${name} intact: ${result.checked} events verified up to #${result.headSeq}` +
          (result.unsealed > 0 ? `; ${result.unsealed} newer events not yet sealed` : ''),
      );
      return 0;
    }
    console.log(
      `audit chain of ${name} BROKEN at #${result.seq} (${result.problem}): ${result.message}` +
        (result.eventId === null ? '' : ` [event ${result.eventId}]`),
    );
    console.log(`${result.checked} events before it verified.`);
    return 1;
  } finally {
    await close();
  }
}
