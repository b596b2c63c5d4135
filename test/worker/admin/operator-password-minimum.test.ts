// Issue 11, item 6: the operator password minimum can be raised (never lowered) by a deployment
// setting, OPERATOR_PASSWORD_MIN_LENGTH, applied wherever an operator password is set: creating
// an operator, changing one's own, and recovery (bootstrap: bootstrap.test.ts).
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { jsonRequest, send, type SendOptions } from '../harness.ts';
import {
  ADMIN,
  OPERATOR_PASSWORD,
  countRows,
  makeOperator,
  signInOperator,
  uniqueOperatorEmail,
} from './fixtures.ts';

/** A deployment that raised the minimum to 24 characters. */
const RAISED: SendOptions = { env: { OPERATOR_PASSWORD_MIN_LENGTH: '24' } };
/** 22 characters: enough under the default minimum of 12, too short under 24. */
const SHORT_UNDER_RAISED = OPERATOR_PASSWORD;
/** 30 characters, three classes, no piece of the test emails. */
const LONG_ENOUGH = 'Quartz-Vivid-Harbor-Lantern-97';

describe('OPERATOR_PASSWORD_MIN_LENGTH', () => {
  it('raises the minimum for new operators: 22 characters refused under 24, 30 accepted', async () => {
    expect(SHORT_UNDER_RAISED).toHaveLength(22);
    const owner = await makeOperator('owner');
    const email = uniqueOperatorEmail();
    const create = (password: string, options: SendOptions = {}) =>
      send(
        `${ADMIN}/operators`,
        jsonRequest('POST', { email, password, role: 'admin' }, owner.jar.header()),
        options,
      );
    const refused = await create(SHORT_UNDER_RAISED, RAISED);
    expect(refused.response.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'password_too_short' });
    expect(await countRows('operators', sql`email = ${email}`)).toBe(0);
    const accepted = await create(LONG_ENOUGH, RAISED);
    expect(accepted.response.status).toBe(201);
  });

  it('applies to changing one’s own password', async () => {
    const operator = await makeOperator();
    const change = (password: string) =>
      send(
        `${ADMIN}/me/password`,
        jsonRequest(
          'POST',
          { current_password: operator.password, new_password: password },
          operator.jar.header(),
        ),
        RAISED,
      );
    const refused = await change('Fresh-Granite-Quartz-55');
    expect(refused.response.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'password_too_short' });
    // Unchanged: the old password still signs in.
    await signInOperator(operator.email, operator.password);
    expect((await change(LONG_ENOUGH)).response.status).toBe(200);
  });

  it('applies to recovery, before the code is looked at', async () => {
    const operator = await makeOperator();
    const sent = await send(
      `${ADMIN}/recover`,
      jsonRequest('POST', {
        email: operator.email,
        recovery_code: operator.recoveryCodes[0],
        new_password: 'Fresh-Granite-Quartz-55',
      }),
      RAISED,
    );
    expect(sent.response.status).toBe(400);
    expect(await sent.json()).toMatchObject({ error: 'password_too_short' });
    // The code was not spent: it still recovers with a long enough password.
    const recovered = await send(
      `${ADMIN}/recover`,
      jsonRequest('POST', {
        email: operator.email,
        recovery_code: operator.recoveryCodes[0],
        new_password: LONG_ENOUGH,
      }),
      RAISED,
    );
    expect(recovered.response.status).toBe(200);
  });
});
