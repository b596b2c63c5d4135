import { describe, expect, it } from 'vitest';
import { send } from './harness.ts';

describe('health', () => {
  it('answers liveness without touching the database', async () => {
    const sent = await send('/health');
    expect(sent.response.status).toBe(200);
    expect(await sent.json()).toEqual({ status: 'ok' });
    expect(await sent.roundTrips()).toBe(0);
  });

  it('answers readiness with exactly one database round trip', async () => {
    const sent = await send('/health/ready');
    expect(sent.response.status).toBe(200);
    expect(await sent.json()).toMatchObject({ status: 'ready' });
    expect(await sent.roundTrips()).toBe(1);
  });
});
