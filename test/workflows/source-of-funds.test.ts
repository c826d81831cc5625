import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Activities } from '../../activities';
import {
  REDRIVE_WORKFLOW,
  redriveChildId,
  redriveWorkflowId,
  type RedriveInput,
  type RedriveProgress,
} from '../../workflows/redrive-types';
import { WaitDeadline, WaitingFor } from '../../workflows/search-attributes';
import { P } from '../support/http';
import { newPlayer } from '../support/operators';
import {
  definitionRun,
  eventually,
  listWorkflowIds,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

/**
 * source-of-funds, the built-in definition that waits: asks once deposits over the window reach
 * the threshold, waits for the operator's verdict (`sof_status` verified or rejected) until a
 * deadline with a reminder on the way, and is cancelled by a self-exclusion or an erasure.
 * Deadlines are per-operator duration strings, so these tests wait seconds, not days.
 */
describe('source-of-funds', () => {
  let h: WorkflowHarness;

  beforeAll(async () => {
    h = await startWorkflowHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  async function operator(parameters: Record<string, unknown>) {
    const op = await operatorWithWebhook(h);
    const res = await op.client.put(`${P}/workflows`, {
      parameters: { sourceOfFundsThreshold: 100, ...parameters },
    });
    expect(res.status).toBe(200);
    return op;
  }
  type Op = Awaited<ReturnType<typeof operator>>;

  const deposit = (op: Op, player: string, amount: number) =>
    recordEvent(op.client, player, 'transaction', { type: 'deposit', amount, currency: 'EUR' });
  const sofStatus = async (op: Op, player: string) =>
    (await op.client.get(`${P}/entities/${player}/state/sof_status`)).body.data?.value;
  const alertsOf = (player: string, kind: string) =>
    h.receiver.requests.filter((r) => r.body.type === `alert.${kind}` && r.body.data.externalId === player);

  it('asks once the deposits over the window reach the threshold, waits visibly, and completes on the verdict', async () => {
    const op = await operator({ sourceOfFundsDeadline: '1h' });
    await newPlayer(op.client, 'sof_1');
    const small = await deposit(op, 'sof_1', 60);
    expect((await definitionRun(h.stack, small.fanoutId, 'source-of-funds')).result).toMatchObject({
      requested: false,
      reason: 'below_threshold',
    });

    const crossing = await deposit(op, 'sof_1', 50);
    await eventually(async () => ((await sofStatus(op, 'sof_1')) === 'requested' ? true : undefined));
    const [asked] = await h.receiver.waitFor(
      (r) => r.body.type === 'alert.source_of_funds_requested' && r.body.data.externalId === 'sof_1',
    );
    expect(asked!.body.data).toMatchObject({ severity: 'warning', eventId: crossing.id });
    expect(asked!.body.data.details).toMatchObject({ deposits: 110, threshold: 100, deadline: '1h' });

    // Ops find it without a worker's help: search attributes, and the event's fan-out status.
    expect(
      await listWorkflowIds(h.stack, `WaitingFor = 'source-of-funds' AND OperatorId = '${op.operatorId}'`),
    ).toEqual([crossing.fanoutId]);
    const waiting = await h.stack.temporal.workflow.getHandle(crossing.fanoutId).describe();
    expect(waiting.typedSearchAttributes.get(WaitDeadline)!.getTime()).toBeGreaterThan(
      Date.now() + 3_500_000,
    );
    await h.stack.stopWorker();
    try {
      const status = await op.client.get(`${P}/events/${crossing.id}/fanout`);
      expect(status.status).toBe(200);
      const sof = status.body.data.outcomes.definitions.find((d: any) => d.definition === 'source-of-funds');
      expect(sof).toMatchObject({
        status: 'waiting',
        waitingFor: 'sof_status verified or rejected',
        events: expect.arrayContaining([
          'entity_state.updated.sof_status',
          'entity_event.block',
          'entity.deleted',
        ]),
      });
      expect(Date.parse(sof.deadline)).toBeGreaterThan(Date.now() + 3_500_000);
    } finally {
      await h.stack.startWorker();
    }

    expect((await op.client.put(`${P}/entities/sof_1/state/sof_status`, { value: 'verified' })).status).toBe(
      200,
    );
    const run = await definitionRun(h.stack, crossing.fanoutId, 'source-of-funds');
    expect(run).toMatchObject({ status: 'completed', result: { requested: true, status: 'verified' } });
    // The run ended with its wait: no closing upsert, so "waiting now" asks for running ones.
    const done = await h.stack.temporal.workflow.getHandle(crossing.fanoutId).describe();
    expect(done.status.name).toBe('COMPLETED');
    expect(done.typedSearchAttributes.get(WaitingFor)).toEqual(['source-of-funds']);
    await eventually(async () =>
      (
        await listWorkflowIds(
          h.stack,
          `WaitingFor = 'source-of-funds' AND ExecutionStatus = 'Running' AND OperatorId = '${op.operatorId}'`,
          0,
        )
      ).length === 0
        ? true
        : undefined,
    );

    // Verified players are not asked again.
    const later = await deposit(op, 'sof_1', 500);
    expect((await definitionRun(h.stack, later.fanoutId, 'source-of-funds')).result).toMatchObject({
      requested: false,
      reason: 'already_verified',
    });
    expect(alertsOf('sof_1', 'source_of_funds_requested')).toHaveLength(1);
  });

  it('reminds the operator, then marks the request overdue with a critical alert at the deadline', async () => {
    const op = await operator({ sourceOfFundsDeadline: '16s', sourceOfFundsReminder: '10s' });
    await newPlayer(op.client, 'sof_2');
    const ev = await deposit(op, 'sof_2', 150);
    const run = await definitionRun(h.stack, ev.fanoutId, 'source-of-funds', 60_000);
    expect(run).toMatchObject({ status: 'completed', result: { requested: true, status: 'overdue' } });
    expect(await sofStatus(op, 'sof_2')).toBe('overdue');
    const reminder = alertsOf('sof_2', 'source_of_funds_reminder');
    const overdue = alertsOf('sof_2', 'source_of_funds_overdue');
    expect(reminder).toHaveLength(1);
    expect(overdue).toHaveLength(1);
    expect(overdue[0]!.body.data.severity).toBe('critical');
    // The reminder came about 10 s into the wait, the deadline about 6 s later.
    expect(overdue[0]!.at - reminder[0]!.at).toBeGreaterThan(4_000);
    // Three alerts of one definition run, three message ids.
    const ids = new Set(
      ['source_of_funds_requested', 'source_of_funds_reminder', 'source_of_funds_overdue'].map(
        (k) => alertsOf('sof_2', k)[0]!.headers['webhook-id'],
      ),
    );
    expect(ids.size).toBe(3);
  });

  it('is cancelled, not failed, by a self-exclusion; another restriction leaves it waiting', async () => {
    const op = await operator({ sourceOfFundsDeadline: '1h' });
    await newPlayer(op.client, 'sof_3');
    const ev = await deposit(op, 'sof_3', 150);
    await eventually(async () => ((await sofStatus(op, 'sof_3')) === 'requested' ? true : undefined));
    await recordEvent(op.client, 'sof_3', 'block', { type: 'deposit_limit' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await h.stack.temporal.workflow.getHandle(ev.fanoutId).describe()).status.name).toBe('RUNNING');

    const exclusion = await recordEvent(op.client, 'sof_3', 'block', { type: 'self_exclusion' });
    const run = await definitionRun(h.stack, ev.fanoutId, 'source-of-funds');
    expect(run).toMatchObject({
      status: 'cancelled',
      result: {
        cancelledBy: { internalEvent: 'entity_event.block', eventId: exclusion.id },
        cleanup: { withdrawn: true },
      },
    });
    expect(await sofStatus(op, 'sof_3')).toBe('cancelled');
    const description = await h.stack.temporal.workflow.getHandle(ev.fanoutId).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.searchAttributes.FailedDefinitions).toBeUndefined();
  });

  it('asks once when two deposits cross the threshold together', async () => {
    const op = await operator({ sourceOfFundsDeadline: '1h' });
    await newPlayer(op.client, 'sof_4');
    const [a, b] = await Promise.all([deposit(op, 'sof_4', 120), deposit(op, 'sof_4', 130)]);
    await eventually(async () => ((await sofStatus(op, 'sof_4')) === 'requested' ? true : undefined));
    // One of the two ends at once (already asked); the other waits.
    const statusOf = async (e: { fanoutId: string }) =>
      (await h.stack.temporal.workflow.getHandle(e.fanoutId).describe()).status.name;
    const finished = await eventually(async () => {
      const [sa, sb] = await Promise.all([statusOf(a!), statusOf(b!)]);
      if (sa === 'COMPLETED' && sb === 'RUNNING') return a!;
      if (sb === 'COMPLETED' && sa === 'RUNNING') return b!;
      return undefined;
    });
    expect((await definitionRun(h.stack, finished.fanoutId, 'source-of-funds')).result).toMatchObject({
      requested: false,
      reason: 'already_requested',
    });
    // The other one's wait registered (its alert sent before): under load that comes well after
    // `requested` is written, and the query below would otherwise find nothing yet.
    const waiting = finished === a ? b! : a!;
    await eventually(async () =>
      (await h.stack.db.pool.query('select 1 from entity_waits where workflow_id = $1', [waiting.fanoutId]))
        .rows.length > 0
        ? true
        : undefined,
    );
    await op.client.put(`${P}/entities/sof_4/state/sof_status`, { value: 'rejected' });
    await eventually(async () =>
      (
        await listWorkflowIds(
          h.stack,
          `WaitingFor = 'source-of-funds' AND ExecutionStatus = 'Running' AND OperatorId = '${op.operatorId}'`,
          0,
        )
      ).length === 0
        ? true
        : undefined,
    );
    expect(alertsOf('sof_4', 'source_of_funds_requested')).toHaveLength(1);
  });

  it('sees a verdict recorded after its deposit but before its wait began (the lookback), and settles on it, not on the deadline', async () => {
    const op = await operator({ sourceOfFundsDeadline: '40s' });
    await newPlayer(op.client, 'sof_5');
    // The worker holds every wait's registration until the test opens the gate.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let held = 0;
    await h.stack.stopWorker();
    await h.stack.startWorker(
      {},
      {
        wrap: (activities: Activities) => ({
          ...activities,
          openWait: async (w) => {
            held++;
            await gate;
            return activities.openWait(w);
          },
        }),
      },
    );
    try {
      const started = Date.now();
      const ev = await deposit(op, 'sof_5', 150);
      await eventually(async () => (held > 0 ? true : undefined));
      expect(await sofStatus(op, 'sof_5')).toBe('requested');
      expect(
        (await op.client.put(`${P}/entities/sof_5/state/sof_status`, { value: 'verified' })).status,
      ).toBe(200);
      // The verdict has left the outbox, matched against no wait (none was registered yet).
      await eventually(async () => {
        const { rows } = await h.stack.db.pool.query(
          `select 1 from fanout_outbox where operator_id = $1 and internal_event = 'entity_state.updated.sof_status'
           union all select 1 from wait_signals where operator_id = $1`,
          [op.operatorId],
        );
        return rows.length === 0 ? true : undefined;
      });
      openGate();
      const run = await definitionRun(h.stack, ev.fanoutId, 'source-of-funds');
      expect(run).toMatchObject({ status: 'completed', result: { requested: true, status: 'verified' } });
      expect(Date.now() - started).toBeLessThan(35_000);
    } finally {
      openGate();
      await h.stack.stopWorker();
      await h.stack.startWorker();
    }
  });

  it('ends when the player is erased (GDPR): cancelled by entity.deleted', async () => {
    const op = await operator({ sourceOfFundsDeadline: '1h' });
    await newPlayer(op.client, 'sof_6');
    const ev = await deposit(op, 'sof_6', 150);
    await eventually(async () => ((await sofStatus(op, 'sof_6')) === 'requested' ? true : undefined));
    await eventually(async () =>
      (await h.stack.db.pool.query('select 1 from entity_waits where workflow_id = $1', [ev.fanoutId])).rows
        .length > 0
        ? true
        : undefined,
    );
    expect((await op.client.delete(`${P}/entities/sof_6`)).status).toBe(200);
    const run = await definitionRun(h.stack, ev.fanoutId, 'source-of-funds');
    expect(run).toMatchObject({
      status: 'cancelled',
      result: { cancelledBy: { internalEvent: 'entity.deleted' } },
    });
    expect(
      (await h.stack.db.pool.query('select 1 from entity_waits where workflow_id = $1', [ev.fanoutId])).rows,
    ).toEqual([]);
  });

  it('is backfilled without stalling the backfill: its re-runs start and are left waiting', async () => {
    const op = await operator({ sourceOfFundsDeadline: '1h' });
    const since = new Date(Date.now() - 1000).toISOString();
    await op.client.put(`${P}/workflows`, {
      definitions: { 'source-of-funds': { enabled: false } },
      parameters: { sourceOfFundsThreshold: 100, sourceOfFundsDeadline: '1h' },
    });
    await newPlayer(op.client, 'sof_7');
    const ev = await deposit(op, 'sof_7', 150);
    await definitionRun(h.stack, ev.fanoutId, 'aml-threshold');
    await op.client.put(`${P}/workflows`, {
      parameters: { sourceOfFundsThreshold: 100, sourceOfFundsDeadline: '1h' },
    });
    const input: RedriveInput = {
      redriveId: `sof_${op.operatorId}`,
      mode: 'backfill',
      definition: 'source-of-funds',
      operatorId: op.operatorId,
      since,
      until: new Date().toISOString(),
      pageSize: 10,
      ratePerSecond: 100,
      pagesPerRun: 10,
    };
    const handle = await h.stack.temporal.workflow.start(REDRIVE_WORKFLOW, {
      taskQueue: h.stack.taskQueue,
      workflowId: redriveWorkflowId(input.redriveId),
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    // Done while its one re-run still waits for the verdict (its deadline is an hour away).
    expect((await handle.result()) as RedriveProgress).toMatchObject({
      selected: 1,
      completed: 0,
      failed: 0,
      waiting: 1,
      done: true,
    });
    const child = h.stack.temporal.workflow.getHandle(redriveChildId(input.redriveId, ev.id));
    await eventually(async () => ((await sofStatus(op, 'sof_7')) === 'requested' ? true : undefined));
    expect((await child.describe()).status.name).toBe('RUNNING');
    await op.client.put(`${P}/entities/sof_7/state/sof_status`, { value: 'rejected' });
    const result = (await child.result()) as { runs: Array<{ definition: string; result: unknown }> };
    expect(result.runs).toEqual([
      expect.objectContaining({
        definition: 'source-of-funds',
        status: 'completed',
        result: expect.objectContaining({ status: 'rejected' }),
      }),
    ]);
  });
});
