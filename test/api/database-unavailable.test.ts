import { Client } from 'pg';
import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

/**
 * 503 SERVICE_UNAVAILABLE, provoked honestly: the API's own Postgres backend is terminated
 * (57P01 admin_shutdown, as in a Postgres restart) while its insert waits on a lock we hold.
 * The fault suite (npm run faults, scenario c) covers a real restart and refused connections.
 */
describe('database connection lost mid-request', () => {
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

  it('answers 503 SERVICE_UNAVAILABLE with no internals, stores nothing, and recovers', async () => {
    const locker = new Client({ connectionString: stack.db.url, application_name: 'lock-holder' });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table events in access exclusive mode');
      const pending = op.client.post(events, { eventType: 'session', data: { action: 'login' } });
      const pid = await waitForBlockedBackend(locker);
      await locker.query('select pg_terminate_backend($1)', [pid]);
      const res = await pending;
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        success: false,
        error: {
          code: 'SERVICE_UNAVAILABLE',
          message: 'The service is temporarily unavailable; retry shortly',
        },
      });
      expect(res.headers.get('retry-after')).toBe('1');
      await locker.query('rollback');
      const { rows } = await locker.query<{ n: number }>(
        'select count(*)::int as n from events where operator_id = $1',
        [op.operatorId],
      );
      expect(rows[0]!.n).toBe(0);
    } finally {
      await locker.end();
    }
    const after = await op.client.post(events, { eventType: 'session', data: { action: 'login' } });
    expect(after.status).toBe(201);
  });
});

/**
 * The API's backend waiting on our lock with the request's insert: the one to cut off. (Only
 * the recording statement touches `events` here; its text is longer than pg_stat_activity keeps.)
 */
async function waitForBlockedBackend(c: Client): Promise<number> {
  for (let i = 0; i < 100; i++) {
    // `c` is inside its transaction, where pg_stat_activity is read once and then served from a
    // snapshot: without clearing it, a first look taken before the API blocked is all we would see.
    await c.query('select pg_stat_clear_snapshot()');
    const { rows } = await c.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where datname = current_database() and application_name = 'igaming-ingest' and wait_event_type = 'Lock'`,
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the API never blocked on the lock');
}
