import { WorkflowIdReusePolicy } from '@temporalio/common';
import { startRedriveAlone } from '../../core/fanout/redrive-guard';
import { REDRIVE_WORKFLOW, redriveWorkflowId, type RedriveCriteria } from '../../workflows/redrive-types';
import { newOperator } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

/**
 * The atomic part of a re-drive's start, with no worker: a started re-drive stays running until
 * terminated, so which one runs is decided by the guard alone, not by timing.
 */
describe('startRedriveAlone', () => {
  let stack: TestStack;
  let operatorId: string;
  let otherOperatorId: string;
  const started: string[] = [];

  beforeAll(async () => {
    stack = await startStack();
    operatorId = (await newOperator(stack.db.pool, stack.baseUrl)).operatorId;
    otherOperatorId = (await newOperator(stack.db.pool, stack.baseUrl)).operatorId;
  });
  afterAll(async () => {
    for (const id of started) {
      await stack.temporal.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    }
    await stack?.close();
  });

  const range = (o: Partial<RedriveCriteria> = {}): RedriveCriteria => ({
    mode: 'redrive-failed',
    definition: 'kyc-on-deposit',
    operatorId,
    since: '2026-11-01T00:00:00.000Z',
    until: '2026-11-02T00:00:00.000Z',
    ...o,
  });
  const guardedStart = (redriveId: string, criteria: RedriveCriteria) => {
    const workflowId = redriveWorkflowId(redriveId);
    return startRedriveAlone(stack.db.pool, stack.temporal, {
      criteria,
      redriveId,
      workflowId,
      start: async () => {
        // A slow start keeps the transaction open: a second start that did not wait for the
        // first's lock would check, and pass, meanwhile.
        await new Promise((r) => setTimeout(r, 300));
        await stack.temporal.workflow.start(REDRIVE_WORKFLOW, {
          taskQueue: stack.taskQueue,
          workflowId,
          args: [{ ...criteria, redriveId, pageSize: 1, ratePerSecond: 1, pagesPerRun: 1 }],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
        started.push(workflowId);
      },
    });
  };

  it('of two starts at once over the same range, starts exactly one and refuses the other naming it; a disjoint one starts alongside', async () => {
    // Connections ready for all four, so that their transactions really overlap.
    await Promise.all([1, 2, 3, 4].map(() => stack.db.pool.query('select pg_sleep(0.05)')));
    const [a, b, otherOperator, laterRange] = await Promise.all([
      guardedStart('g_a', range()),
      guardedStart('g_b', range({ since: '2026-11-01T12:00:00.000Z' })),
      guardedStart('g_op', range({ operatorId: otherOperatorId })),
      guardedStart(
        'g_later',
        range({ since: '2026-11-02T00:00:00.000Z', until: '2026-11-03T00:00:00.000Z' }),
      ),
    ]);
    const results = { g_a: a, g_b: b };
    const winner = a.kind === 'started' ? 'g_a' : 'g_b';
    const loser = winner === 'g_a' ? 'g_b' : 'g_a';
    expect(results[winner]).toEqual({ kind: 'started' });
    expect(results[loser]).toEqual({
      kind: 'refused',
      running: expect.objectContaining({ id: winner, workflowId: `redrive:${winner}` }),
    });
    await expect(stack.temporal.workflow.getHandle(`redrive:${loser}`).describe()).rejects.toThrow(
      /not found/i,
    );
    expect(otherOperator).toEqual({ kind: 'started' });
    expect(laterRange).toEqual({ kind: 'started' });

    // A plain redrive re-runs the failed events too: it conflicts; a backfill selects others: it does not.
    expect(await guardedStart('g_plain', range({ mode: 'redrive' }))).toMatchObject({ kind: 'refused' });
    expect(await guardedStart('g_backfill', range({ mode: 'backfill' }))).toEqual({ kind: 'started' });
    // The same id again while it runs: attach to it, not refused by itself.
    expect(await guardedStart(winner, range())).toEqual({ kind: 'exists' });

    // Once it has ended (here: terminated), the same range may run again.
    await stack.temporal.workflow.getHandle(`redrive:${winner}`).terminate('done');
    expect(await guardedStart('g_again', range())).toEqual({ kind: 'started' });
  });

  it('ignores a registered re-drive whose workflow never started', async () => {
    const criteria = range({ definition: 'aml-threshold' });
    await stack.db.pool.query(
      `insert into redrives (id, workflow_id, mode, definition, operator_id, since, until)
       values ('g_ghost', 'redrive:g_ghost', $1, $2, $3, $4, $5)`,
      [criteria.mode, criteria.definition, criteria.operatorId, criteria.since, criteria.until],
    );
    expect(await guardedStart('g_real', criteria)).toEqual({ kind: 'started' });
  });
});
