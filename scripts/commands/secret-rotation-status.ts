// `npm run cli -- secret-rotation-status`: what a SECRET_KEY rotation still has to reseal, per
// sealed column, with SECRET_KEY (new) and SECRET_KEY_PREVIOUS (old) set as the Worker has them.
// Exit 0 when nothing remains (SECRET_KEY_PREVIOUS may be removed), 3 while something does.
import { rotationStatus } from '../../src/features/secrets/service.ts';
import { openDatabase } from '../lib/database.ts';

export interface CommandContext {
  secretKey: Uint8Array;
  secretKeyPrevious: Uint8Array | null;
  databaseURL: string;
}

export const EXIT_PENDING = 3;

export async function secretRotationStatusCommand(context: CommandContext): Promise<number> {
  const { db, close } = await openDatabase(context.databaseURL);
  try {
    const status = await rotationStatus({
      db,
      secretKeys: { current: context.secretKey, previous: context.secretKeyPrevious },
    });
    for (const column of status.columns) {
      console.log(`${`${column.table}.${column.column}`.padEnd(34)} ${column.pending} to reseal`);
    }
    if (status.isAuditKeyRetired !== null) {
      const state = status.isAuditKeyRetired ? 'stored' : 'not yet stored (1 to do)';
      console.log(`${'audit chain key of the previous'.padEnd(34)} ${state}`);
    }
    const legacy = status.columns.reduce((sum, column) => sum + column.legacy, 0);
    if (legacy > 0) {
      // Not counted in `remaining`: only the user's password can move them (next sign-in).
      console.log(
        `${legacy} legacy password hashes (p=k1) need their owner's next sign-in; after ` +
          'SECRET_KEY_PREVIOUS is removed, those made under it need a password reset',
      );
    }
    console.log(`remaining: ${status.remaining}`);
    if (context.secretKeyPrevious === null && status.remaining > 0) {
      console.log('SECRET_KEY_PREVIOUS is not set: no rotation is running to reseal these');
    }
    return status.remaining === 0 ? 0 : EXIT_PENDING;
  } finally {
    await close();
  }
}
