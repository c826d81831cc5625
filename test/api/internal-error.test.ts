import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { expectError } from '../support/expect';

/**
 * 500 INTERNAL_ERROR, provoked honestly: the events table of this file's own database is
 * renamed away, so Postgres fails the query as it would on any unexpected fault.
 */
describe('500 INTERNAL_ERROR', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const events = `${P}/entities/player_1/events`;
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers the envelope with a generic message and no internals, then recovers', async () => {
    await stack.db.pool.query('alter table events rename to events_away');
    try {
      const res = await op.client.post(events, { eventType: 'session', data: { action: 'login' } });
      expectError(res, 500, 'INTERNAL_ERROR');
      expect(res.body).toEqual({
        success: false,
        error: { code: 'INTERNAL_ERROR', message: 'Internal server error' },
      });
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const listed = await op.client.get(events);
      expect(listed.body).toEqual({
        success: false,
        error: { code: 'INTERNAL_ERROR', message: 'Internal server error' },
      });
      expect(listed.status).toBe(500);
    } finally {
      await stack.db.pool.query('alter table events_away rename to events');
    }
    expect((await op.client.post(events, { eventType: 'session', data: {} })).status).toBe(201);
  });
});
