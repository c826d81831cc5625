import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  REDRIVE_WORKFLOW,
  redriveWorkflowId,
  type RedriveInput,
  type RedriveProgress,
} from '../../workflows/redrive-types';
import type { FanoutResult } from '../../workflows/types';
import { newPlayer } from '../support/operators';
import {
  definitionRun,
  eventually,
  listWorkflowIds,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

describe('redriveDefinition', () => {
  let h: WorkflowHarness;
  let op: Awaited<ReturnType<typeof operatorWithWebhook>>;
  let since: string;
  const deposits: string[] = [];

  beforeAll(async () => {
    // A slow… applicant's first KYC call with a key outlasts the client's 1 s timeout.
    h = await startWorkflowHarness({ kyc: { slowMs: 5000 } });
    op = await operatorWithWebhook(h, [], { mode: 'test' });
    since = new Date(Date.now() - 1000).toISOString();
    await newPlayer(op.client, 'cas_1');
    for (const amount of [10, 20, 30, 40, 50]) {
      const ev = await recordEvent(op.client, 'cas_1', 'transaction', {
        type: 'withdrawal',
        amount,
        currency: 'EUR',
      });
      deposits.push(ev.id);
      // Events the definition does not trigger on sit between them: read past, never run.
      await recordEvent(op.client, 'cas_1', 'game_activity', { game_id: 'g1', bet_amount: 1, win_amount: 0 });
      await definitionRun(h.stack, ev.fanoutId, 'aml-threshold');
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  it('pages through the range with continue-as-new, running the definition once per event as a child', async () => {
    const input: RedriveInput = {
      redriveId: 'cas',
      mode: 'redrive',
      definition: 'aml-threshold',
      operatorId: op.operatorId,
      since,
      until: new Date().toISOString(),
      pageSize: 2,
      ratePerSecond: 100,
      pagesPerRun: 2,
      total: 5,
    };
    const handle = await h.stack.temporal.workflow.start(REDRIVE_WORKFLOW, {
      taskQueue: h.stack.taskQueue,
      workflowId: redriveWorkflowId('cas'),
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    const progress = (await handle.result()) as RedriveProgress;
    // Pages of 2, 2 and 1 event: the last, short page ends the range.
    expect(progress).toMatchObject({ total: 5, selected: 5, completed: 5, failed: 0, pages: 3, done: true });
    expect(progress.scanned).toBe(5);

    const first = await h.stack.temporal.workflow
      .getHandle(handle.workflowId, handle.firstExecutionRunId)
      .describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
    // What the UI shows as the workflow's current details.
    const metadata = await h.stack.temporal.workflow
      .getHandle(handle.workflowId)
      .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toBe(
      'redrive of aml-threshold: 5 of 5 run (5 completed, 0 failed), 5 events read, done',
    );

    const children = await listWorkflowIds(h.stack, `WorkflowId STARTS_WITH 'redrive:cas:'`, 5);
    expect(children.sort()).toEqual(deposits.map((id) => `redrive:cas:${id}`).sort());
    for (const id of deposits) {
      const result = await waitForResult<FanoutResult>(h.stack, `redrive:cas:${id}`);
      expect(result.runs).toEqual([
        expect.objectContaining({ definition: 'aml-threshold', status: 'completed' }),
      ]);
    }
  });

  it('paces re-runs to ratePerSecond with a timer between pages', async () => {
    const handle = await h.stack.temporal.workflow.start(REDRIVE_WORKFLOW, {
      taskQueue: h.stack.taskQueue,
      workflowId: redriveWorkflowId('paced'),
      args: [
        {
          redriveId: 'paced',
          mode: 'redrive',
          definition: 'aml-threshold',
          operatorId: op.operatorId,
          since,
          until: new Date().toISOString(),
          pageSize: 2,
          ratePerSecond: 1,
          pagesPerRun: 10,
        } satisfies RedriveInput,
      ],
    });
    await handle.result();
    const starts = await Promise.all(
      deposits.map(
        async (id) => (await h.stack.temporal.workflow.getHandle(`redrive:paced:${id}`).describe()).startTime,
      ),
    );
    const times = starts.map((t) => t.getTime()).sort((a, b) => a - b);
    // Pages of 2, 2 and 1 event at 1 run per second: a page every 2 s (without the timer,
    // measured: about 0.3 s apart). The timer counts from the page's read, the children start
    // after it, so a slower read of one page moves its children by that much (seen: 1.9 s in CI).
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(1500);
    expect(times[4]! - times[2]!).toBeGreaterThanOrEqual(1500);
  });

  it('counts a re-run terminated by hand as failed and goes on', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    await newPlayer(op.client, 'slow_1');
    const ev = await recordEvent(op.client, 'slow_1', 'transaction', {
      type: 'deposit',
      amount: 50,
      currency: 'EUR',
    });
    await definitionRun(h.stack, ev.fanoutId, 'kyc-on-deposit');
    const handle = await h.stack.temporal.workflow.start(REDRIVE_WORKFLOW, {
      taskQueue: h.stack.taskQueue,
      workflowId: redriveWorkflowId('term'),
      args: [
        {
          redriveId: 'term',
          mode: 'redrive',
          definition: 'kyc-on-deposit',
          operatorId: op.operatorId,
          since: from,
          until: new Date().toISOString(),
          pageSize: 10,
          ratePerSecond: 100,
          pagesPerRun: 10,
        } satisfies RedriveInput,
      ],
    });
    const child = h.stack.temporal.workflow.getHandle(`redrive:term:${ev.id}`);
    await eventually(async () => ((await child.describe().catch(() => null)) ? true : undefined));
    await child.terminate('test: a re-run stopped by hand');
    // kyc-on-deposit waits (waits: true): its page gives the re-run 30 s, and it ended inside them.
    expect(await handle.result()).toMatchObject({
      selected: 1,
      completed: 0,
      failed: 1,
      waiting: 0,
      done: true,
    });
  });

  it('a re-drive id runs once: starting it again is refused by Temporal', async () => {
    await expect(
      h.stack.temporal.workflow.start(REDRIVE_WORKFLOW, {
        taskQueue: h.stack.taskQueue,
        workflowId: redriveWorkflowId('cas'),
        args: [{}],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      }),
    ).rejects.toThrow(/already started/i);
  });
});
