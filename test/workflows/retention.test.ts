import type { RetentionResult } from '../../workflows/retention';
import { partitionScheduleId } from '../../worker/partition-schedule';
import { ensureRetentionSchedule, retentionScheduleId } from '../../worker/retention-schedule';
import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { eventually } from '../support/workflow-harness';

jest.setTimeout(60_000);

/**
 * Retention end to end: settings → the Temporal schedule → the applyRetention workflow on a
 * real worker → events moved to events_archive past hot_days and removed past archive_days.
 */
describe('retention of events', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack({ worker: true, relay: false, immediateStarts: false });
  });
  afterAll(async () => {
    await stack.temporal.schedule
      .getHandle(retentionScheduleId(stack.taskQueue))
      .delete()
      .catch(() => undefined);
    await stack?.close();
  });

  /** Records `n` session events and backdates them by `ageDays`. */
  async function eventsAged(
    client: Awaited<ReturnType<typeof newOperator>>['client'],
    externalId: string,
    n: number,
    ageDays: number,
  ) {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await client.post(`${P}/entities/${externalId}/events`, {
        eventType: 'session',
        data: { i, ageDays },
      });
      ids.push(res.body.data.id);
    }
    await stack.db.pool.query(
      `update events set created_at = now() - make_interval(days => $2) where id = any($1)`,
      [ids, ageDays],
    );
    return ids;
  }

  const where = async (ids: string[]) => {
    const { rows } = await stack.db.pool.query<{ id: string; t: string }>(
      `select id, 'hot' t from events where id = any($1) union all select id, 'archive' from events_archive where id = any($1)`,
      [ids],
    );
    return Object.fromEntries(ids.map((id) => [id, rows.find((r) => r.id === id)?.t ?? 'gone']));
  };

  it('the schedule is created once, updated in place, daily, and starts applyRetention on this task queue', async () => {
    const id = await ensureRetentionSchedule(stack.temporal, stack.taskQueue);
    expect(await ensureRetentionSchedule(stack.temporal, stack.taskQueue)).toBe(id);
    const d = await stack.temporal.schedule.getHandle(id).describe();
    expect(d.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 3, end: 3, step: 1 }] })]);
    expect(d.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'applyRetention',
      taskQueue: stack.taskQueue,
    });
  });

  it('the test stack has the event-partitions schedule next to it; a run makes the months ahead that are missing', async () => {
    const handle = stack.temporal.schedule.getHandle(partitionScheduleId(stack.taskQueue));
    const d = await handle.describe();
    expect(d.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 2, end: 2, step: 1 }] })]);
    expect(d.action).toMatchObject({ type: 'startWorkflow', workflowType: 'maintainEventPartitions' });
    const months = async () =>
      (
        await stack.db.pool.query<{ n: number }>(
          `select count(*)::int n from pg_inherits where inhparent = 'events'::regclass`,
        )
      ).rows[0]!.n;
    const before = await months();
    // The newest month goes (empty: nothing is recorded three months ahead); the run makes it again.
    const { rows } = await stack.db.pool.query<{ name: string }>(
      `select c.relname name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'events'::regclass order by c.relname desc limit 1`,
    );
    await stack.db.pool.query(`drop table "${rows[0]!.name}"`);
    await handle.trigger();
    const workflowId = await eventually(
      async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId,
    );
    expect(await stack.temporal.workflow.getHandle(workflowId).result()).toEqual({ created: 1 });
    expect(await months()).toBe(before);
  });

  it('moves events past hot_days to the archive and removes those past archive_days, per operator, reporting counts', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const keep = await newOperator(stack.db.pool, stack.baseUrl, { name: 'no-policy' });
    await newPlayer(op.client, 'ret_1');
    await newPlayer(keep.client, 'ret_1');
    const settings = await op.client.put(`${P}/settings`, {
      retentionPolicy: { entity_events: { hot_days: 30, archive_days: 365 } },
    });
    expect(settings.status).toBe(200);

    const fresh = await eventsAged(op.client, 'ret_1', 2, 5);
    // Horizons apply to whole months (activities/retention.ts): 75 days is past a 30-day horizon's
    // month on any day of the year, 430 past a 365-day one's, 5 days never.
    const warm = await eventsAged(op.client, 'ret_1', 5, 75);
    const old = await eventsAged(op.client, 'ret_1', 3, 430);
    const untouched = await eventsAged(keep.client, 'ret_1', 2, 400);

    // Through the schedule: trigger it now rather than wait for 03:17.
    const scheduleId = await ensureRetentionSchedule(stack.temporal, stack.taskQueue);
    await stack.temporal.schedule.getHandle(scheduleId).trigger();
    const workflowId = await eventually(async () => {
      const d = await stack.temporal.schedule.getHandle(scheduleId).describe();
      return d.info.recentActions[0]?.action.workflow.workflowId;
    });
    expect(workflowId).toMatch(new RegExp(`^${scheduleId.replace(/\./g, '\\.')}`));
    const result = (await stack.temporal.workflow.getHandle(workflowId).result()) as RetentionResult;

    expect(result.perOperator.find((r) => r.operatorId === op.operatorId)).toEqual({
      operatorId: op.operatorId,
      hotDays: 30,
      archiveDays: 365,
      archived: 8,
      deleted: 3,
      complete: true,
    });
    expect(result.perOperator.map((r) => r.operatorId)).not.toContain(keep.operatorId);
    expect(Object.values(await where(fresh))).toEqual(['hot', 'hot']);
    expect(Object.values(await where(warm))).toEqual(Array(5).fill('archive'));
    expect(Object.values(await where(old))).toEqual(['gone', 'gone', 'gone']);
    expect(Object.values(await where(untouched))).toEqual(['hot', 'hot']);

    // The listing serves hot events, then archived ones; purged ones are gone (docs/RELIABILITY.md).
    const list = await op.client.get(`${P}/entities/ret_1/events`);
    const listed: string[] = list.body.data.map((e: { id: string }) => e.id);
    expect(listed.slice(0, 2).sort()).toEqual([...fresh].sort());
    expect(listed.slice(2).sort()).toEqual([...warm].sort());

    // A second run finds nothing left to do.
    const again = (await stack.temporal.workflow.execute('applyRetention', {
      taskQueue: stack.taskQueue,
      workflowId: `retention-again-${op.operatorId}`,
      args: [{}],
    })) as RetentionResult;
    expect(again.perOperator.find((r) => r.operatorId === op.operatorId)).toMatchObject({
      archived: 0,
      deleted: 0,
    });
  });

  it('works in bounded batches: a run with a small budget stops, reports incomplete, and the next run finishes', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'ret_b');
    await op.client.put(`${P}/settings`, {
      retentionPolicy: { entity_events: { hot_days: 30, archive_days: 1825 } },
    });
    const warm = await eventsAged(op.client, 'ret_b', 7, 75);
    const run = async (n: number) =>
      (
        (await stack.temporal.workflow.execute('applyRetention', {
          taskQueue: stack.taskQueue,
          workflowId: `retention-batches-${op.operatorId}-${n}`,
          args: [{ batchSize: 2, maxBatches: 2 }],
        })) as RetentionResult
      ).perOperator.find((r) => r.operatorId === op.operatorId)!;
    expect(await run(1)).toMatchObject({ archived: 4, deleted: 0, complete: false });
    expect(await run(2)).toMatchObject({ archived: 3, complete: false }); // the budget ran out before the purge step
    expect(await run(3)).toMatchObject({ archived: 0, deleted: 0, complete: true });
    expect(Object.values(await where(warm))).toEqual(Array(7).fill('archive'));
  });
});
