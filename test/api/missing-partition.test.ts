import { isMissingEventPartition, listMonthPartitions } from '../../core/db/partitions';
import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

/**
 * The `event-partitions` schedule keeps three months of partitions ahead; if no worker ran it
 * for that long, the month being recorded has none. Recording must not depend on a worker: the
 * API makes the month's partition and writes again (core/domain/write-again.ts).
 */
describe('recording into a month that has no partition', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    stack = await startStack({ worker: false });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'p1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const login = { eventType: 'session', data: { action: 'login' } };
  const thisMonth = async () => {
    const now = Date.now();
    return (await listMonthPartitions(stack.db.pool, 'events')).find(
      (m) => m.from.getTime() <= now && now < m.to.getTime(),
    );
  };
  /** Removes this month's partition, and shows that a plain insert now fails for want of it. */
  const dropThisMonth = async () => {
    const m = await thisMonth();
    expect(m).toBeDefined();
    await stack.db.pool.query(`alter table events detach partition "${m!.name}"`);
    await stack.db.pool.query(`drop table "${m!.name}"`);
    const err = await stack.db.pool
      .query(
        `insert into events (id, operator_id, external_id, event_type, data) values ('eev_probe', $1, 'p1', 'session', '{}')`,
        [op.operatorId],
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isMissingEventPartition(err)).toBe(true);
  };
  const stored = async (id: string) =>
    (
      await stack.db.pool.query<{ n: number }>(
        'select count(*)::int as n from events where operator_id = $1 and id = $2',
        [op.operatorId, id],
      )
    ).rows[0]!.n;

  it('makes the partition and records the event', async () => {
    await dropThisMonth();
    const res = await op.client.post(`${P}/entities/p1/events`, login);
    expect(res.status).toBe(201);
    expect(await thisMonth()).toBeDefined();
    expect(await stored(res.body.data.id as string)).toBe(1);
  });

  it('makes the partition and records a whole batch', async () => {
    await dropThisMonth();
    const res = await op.client.post(`${P}/batch/events`, [
      { externalId: 'p1', ...login },
      { externalId: 'p1', ...login },
    ]);
    expect(res.body.data).toMatchObject({ succeeded: 2, failed: 0 });
    expect(await thisMonth()).toBeDefined();
    const listed = await op.client.get(`${P}/entities/p1/events`);
    expect(listed.body.data).toHaveLength(2);
  });
});
