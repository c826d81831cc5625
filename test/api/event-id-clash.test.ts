import * as ids from '../../core/ids';
import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

/**
 * Event ids are unique within a month only (core/ids.ts, migration 018): when a new event draws
 * the id of one already recorded this month, the month's unique index refuses the statement and
 * the event is recorded again under a new id, on the single and the batch path.
 */
describe('an event id drawn twice in one month', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const real = ids.newEventId;
  beforeAll(async () => {
    stack = await startStack({ worker: false });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'p1');
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(async () => {
    await stack?.close();
  });

  const login = { eventType: 'session', data: { action: 'login' } };
  const rows = async (id: string) =>
    (await stack.db.pool.query<{ n: number }>('select count(*)::int as n from events where id = $1', [id]))
      .rows[0]!.n;

  it('is recorded again under a new id, and the first event keeps its own', async () => {
    const first = (await op.client.post(`${P}/entities/p1/events`, login)).body.data.id as string;
    const draws = jest.spyOn(ids, 'newEventId').mockImplementationOnce(() => first);
    const second = await op.client.post(`${P}/entities/p1/events`, login);
    expect(second.status).toBe(201);
    expect(draws).toHaveBeenCalledTimes(2);
    expect(second.body.data.id).not.toBe(first);
    expect(await rows(first)).toBe(1);
    expect(await rows(second.body.data.id)).toBe(1);
  });

  it('in a batch, records every item again under new ids', async () => {
    const count = async () =>
      (
        await stack.db.pool.query<{ n: number }>(
          `select count(*)::int as n from events where operator_id = $1`,
          [op.operatorId],
        )
      ).rows[0]!.n;
    const before = await count();
    const first = (await op.client.post(`${P}/entities/p1/events`, login)).body.data.id as string;
    const draws = jest
      .spyOn(ids, 'newEventId')
      .mockImplementationOnce(() => first)
      .mockImplementation(() => real());
    const batch = await op.client.post(`${P}/batch/events`, [
      { externalId: 'p1', ...login },
      { externalId: 'p1', ...login },
    ]);
    expect(batch.body.data).toMatchObject({ succeeded: 2, failed: 0 });
    // Two drawn when staged, two more after the refusal.
    expect(draws).toHaveBeenCalledTimes(4);
    expect(await rows(first)).toBe(1);
    expect(await count()).toBe(before + 3);
  });
});
