import { fmt, ratio, type BenchContext } from '../lib/context';
import { percentile, sleep, waitUntil } from '../lib/measure';
import { callApi, newOperator, type BenchOperator } from '../lib/stack';
import { describeTaskWaits, taskWaits } from '../lib/task-waits';
import { quiesce } from './fanout';

/**
 * Operator B's steady deposit rate (each a player's first deposit, so each needs a KYC check);
 * BENCH_KYC_FAIRNESS_RATE sets another, to find the rate up to which B stays within its share.
 */
const B_RATE = Number(process.env.BENCH_KYC_FAIRNESS_RATE ?? 4);

/**
 * Fair to the activity: operator B's commit → KYC result written (the `kyc_status` state that
 * kyc-on-deposit's last activity writes), p99, at a steady rate, alone and then while operator
 * A has a batch of first deposits in flight (every one started, their KYC, AML and
 * affordability activities queued on the task queue B's share). B's deposits go through the
 * single-event endpoint, A's through one `POST /batch/events`, as an operator would send them.
 */
export async function kycFairness(ctx: BenchContext): Promise<void> {
  const inFlight = ctx.quick ? 1_000 : 5_000;
  const durationS = ctx.quick ? 15 : 30;
  const perRun = B_RATE * durationS;
  // Test mode: with no provider connection, a test-mode operator's KYC check is answered by
  // the sandbox inside the activity (a live one without a connection is `not_configured`
  // and writes no kyc_status): the same workflow and activities, no provider in the way.
  const a = await newOperator(ctx.s, 'bench-kyc-busy', 'test');
  const b = await newOperator(ctx.s, 'bench-kyc-steady', 'test');
  await createPlayers(ctx, b, 'b-alone-', perRun);
  await createPlayers(ctx, b, 'b-beside-', perRun);
  await createPlayers(ctx, a, 'a-', inFlight);
  await quiesce(ctx);

  await limitPerOperator(ctx);
  const aloneIds = await steadyDeposits(ctx, b, 'b-alone-', perRun);
  const alone = await kycLag(ctx, b, aloneIds);
  ctx.log(
    `kyc-fairness: B alone p50 ${fmt(alone.p50)} ms, p99 ${fmt(alone.p99)} ms (${alone.written}/${alone.events})`,
  );
  await quiesce(ctx);
  const aloneWaits = await taskWaits(ctx.s.temporal, 'transaction', aloneIds);
  ctx.log(`kyc-fairness: B alone, where the time went: ${describeTaskWaits(aloneWaits)}`);
  await quiesce(ctx);

  const batchAt = Date.now();
  await callApi(ctx.api, a, 'POST', '/batch/events', deposits('a-', inFlight));
  // B starts once every one of A's workflows has started: only then are all their activities
  // in Temporal's hands (before that some of A's work still waits in our outbox).
  await waitUntil(async () => (await outboxOf(ctx, a)) === 0, 600_000, "A's outbox to empty", 250);
  const startedS = (Date.now() - batchAt) / 1000;
  const aRunning = () => runningOf(ctx, a);
  const aAtStart = await aRunning();
  const backlog = await backlogs(ctx);
  ctx.log(
    `kyc-fairness: A's ${inFlight} workflows started ${fmt(startedS, 1)} s after the batch; ${aAtStart} still running; backlog: ${backlog}`,
  );
  const besideIds = await steadyDeposits(ctx, b, 'b-beside-', perRun);
  const aAtEnd = await aRunning();
  const beside = await kycLag(ctx, b, besideIds);
  const aAtResults = await aRunning();
  ctx.log(
    `kyc-fairness: B beside A p50 ${fmt(beside.p50)} ms, p99 ${fmt(beside.p99)} ms (${beside.written}/${beside.events}); ` +
      `A running at B's start ${aAtStart}, at the end of B's run ${aAtEnd}, when B's results were in ${aAtResults}`,
  );
  // B's workflows have written their KYC result; the rest of each (AML, affordability,
  // source of funds) may still run beside A's: read once they have closed.
  await waitUntil(
    async () =>
      (await ctx.s.temporal.workflow.count(`OperatorId = '${b.operatorId}' AND ExecutionStatus = 'Running'`))
        .count === 0,
    1_800_000,
    "B's workflows to close",
    1000,
  );
  const besideWaits = await taskWaits(ctx.s.temporal, 'transaction', besideIds);
  ctx.log(`kyc-fairness: B beside A, where the time went: ${describeTaskWaits(besideWaits)}`);
  // What is left of A's batch would keep this 2-core machine busy for many minutes (here a
  // deposit's workflow costs far more than the fan-out benchmarks' game rounds): terminated.
  await terminateRunning(ctx, a);
  ctx.rows.push({
    benchmark: 'Fairness to the activity',
    metric: `operator B at ${B_RATE} first deposits/s for ${durationS} s: commit → kyc_status written p99, while A's ${fmt(inFlight)} deposits are in flight`,
    measured: `${fmt(beside.p99)} ms (p50 ${fmt(beside.p50)}; ${beside.written} of ${beside.events}; A running ${fmt(aAtStart)} at B's start, ${fmt(aAtEnd)} at its end; backlog at B's start: ${backlog}; ${workerSettings()})`,
    baseline: `${fmt(alone.p99)} ms (p50 ${fmt(alone.p50)}) B alone`,
    ratio: ratio(beside.p99, alone.p99),
    target: '≤ 2.00×',
    pass: beside.p99 <= 2 * alone.p99 && beside.written === beside.events && aAtEnd > 0,
  });
}

/**
 * BENCH_FAIRNESS_KEY_RATE (tasks/s): the task queue's default rate limit per fairness key
 * (UpdateTaskQueueConfig), each operator's activity dispatch capped. Activity tasks only: the
 * server refuses a fairness-key rate limit on a workflow task queue (INVALID_ARGUMENT).
 */
async function limitPerOperator(ctx: BenchContext): Promise<void> {
  const rate = process.env.BENCH_FAIRNESS_KEY_RATE;
  if (!rate) return;
  await ctx.s.temporal.workflowService.updateTaskQueueConfig({
    namespace: ctx.s.temporal.options.namespace,
    identity: 'bench',
    taskQueue: ctx.s.taskQueue,
    taskQueueType: 2, // TASK_QUEUE_TYPE_ACTIVITY
    updateFairnessKeyRateLimitDefault: {
      rateLimit: { requestsPerSecond: Number(rate) },
      reason: 'bench: per-operator cap',
    },
  });
  ctx.log(`kyc-fairness: per-operator rate limit ${rate} activity tasks/s`);
}

/** The worker and server settings this run measured (env; unset = the product's defaults). */
function workerSettings(): string {
  const env = process.env;
  return [
    `worker workflow-task slots ${env.WORKER_WORKFLOW_TASK_SLOTS ?? 'the product default (8)'}`,
    `workflow cache ${env.WORKER_WORKFLOW_CACHE ?? "the SDK's default"}`,
    `server dynamic config beyond the stack's (fairness, one partition) ${env.BENCH_TEMPORAL_DYNAMIC_CONFIG ?? 'none'}`,
    `per-operator activity rate limit ${env.BENCH_FAIRNESS_KEY_RATE ? `${env.BENCH_FAIRNESS_KEY_RATE}/s` : 'none'}`,
  ].join(', ');
}

const deposit = (amount: number) => ({
  type: 'deposit',
  amount,
  currency: 'GBP',
  method: 'card',
});

function deposits(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    externalId: `${prefix}${i}`,
    eventType: 'transaction',
    // Below KYC_DEPOSIT_THRESHOLD: a check because it is the player's first deposit.
    data: deposit(50),
  }));
}

async function createPlayers(ctx: BenchContext, op: BenchOperator, prefix: string, n: number): Promise<void> {
  for (let from = 0; from < n; from += 1000) {
    const items = Array.from({ length: Math.min(1000, n - from) }, (_, i) => ({
      entityType: 'player',
      externalId: `${prefix}${from + i}`,
      data: { email: `${prefix}${from + i}@example.com`, country: 'GB', currency: 'GBP' },
    }));
    await callApi(ctx.api, op, 'POST', '/batch/entities', items);
  }
}

/**
 * One first deposit per player at B_RATE a second, open loop (each sent on its schedule,
 * whatever the previous answer): the event ids recorded.
 */
async function steadyDeposits(
  ctx: BenchContext,
  op: BenchOperator,
  prefix: string,
  n: number,
): Promise<string[]> {
  const started = Date.now();
  const sends: Promise<string>[] = [];
  for (let i = 0; i < n; i++) {
    const due = started + (i * 1000) / B_RATE;
    await sleep(Math.max(0, due - Date.now()));
    sends.push(
      fetch(`${ctx.api.url}/operator-data-api/entities/${prefix}${i}/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${op.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ eventType: 'transaction', data: deposit(50) }),
      }).then(async (res) => {
        const json = (await res.json()) as { data?: { id?: string } };
        if (res.status !== 201 || !json.data?.id)
          throw new Error(`deposit: HTTP ${res.status} ${JSON.stringify(json)}`);
        return json.data.id;
      }),
    );
  }
  return Promise.all(sends);
}

interface KycLag {
  events: number;
  written: number;
  p50: number;
  p99: number;
}

/**
 * events.created_at (the commit) against entity_states.updated_at of the player's kyc_status
 * written for that event (both Postgres clock): waits until every one is written or 30 minutes.
 */
async function kycLag(ctx: BenchContext, op: BenchOperator, eventIds: string[]): Promise<KycLag> {
  const query = () =>
    ctx.s.pool.query<{ lag_ms: number }>(
      `select extract(epoch from s.updated_at - e.created_at) * 1000 as lag_ms
         from events e
         join entity_states s
           on s.operator_id = e.operator_id and s.external_id = e.external_id and s.state_key = 'kyc_status'
          and s.value->>'eventId' = e.id
        where e.operator_id = $1 and e.id = any($2::text[])`,
      [op.operatorId, eventIds],
    );
  await waitUntil(
    async () => (await query()).rows.length >= eventIds.length,
    1_800_000,
    "B's KYC results",
    250,
  ).catch((err: unknown) => ctx.log(`kyc-fairness: ${String(err)}`));
  const lags = (await query()).rows.map((r) => Number(r.lag_ms)).sort((x, y) => x - y);
  return {
    events: eventIds.length,
    written: lags.length,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
  };
}

async function outboxOf(ctx: BenchContext, op: BenchOperator): Promise<number> {
  const { rows } = await ctx.s.pool.query<{ n: number }>(
    'select count(*)::int as n from fanout_outbox where operator_id = $1',
    [op.operatorId],
  );
  return rows[0]!.n;
}

async function terminateRunning(ctx: BenchContext, op: BenchOperator): Promise<void> {
  const query = `OperatorId = '${op.operatorId}' AND ExecutionStatus = 'Running'`;
  await ctx.s.temporal.workflowService.startBatchOperation({
    namespace: ctx.s.namespace,
    jobId: `bench-terminate-${op.operatorId}`,
    visibilityQuery: query,
    reason: 'benchmark measured; the rest of the load is not needed',
    terminationOperation: {},
  });
  await waitUntil(async () => (await runningOf(ctx, op)) === 0, 1_800_000, `terminating ${query}`, 1000);
}

async function runningOf(ctx: BenchContext, op: BenchOperator): Promise<number> {
  const q = `OperatorId = '${op.operatorId}' AND ExecutionStatus = 'Running'`;
  return (await ctx.s.temporal.workflow.count(q)).count;
}

/** Tasks waiting for a worker on the task queue, workflow and activity, as Temporal reports them. */
async function backlogs(ctx: BenchContext): Promise<string> {
  const one = async (type: 1 | 2) => {
    try {
      const res = await ctx.s.temporal.workflowService.describeTaskQueue({
        namespace: ctx.s.namespace,
        taskQueue: { name: ctx.s.taskQueue },
        taskQueueType: type, // TASK_QUEUE_TYPE_WORKFLOW = 1, _ACTIVITY = 2
        reportStats: true,
      });
      return fmt(Number(res.stats?.approximateBacklogCount ?? NaN));
    } catch (err) {
      return `n/a (${(err as Error).message})`;
    }
  };
  return `workflow tasks ${await one(1)}, activity tasks ${await one(2)}`;
}
