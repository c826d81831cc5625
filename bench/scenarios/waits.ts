import { fmt, ratio, runBaseline, type BenchContext } from '../lib/context';
import { percentile, sleep, waitUntil } from '../lib/measure';
import { createPlayer, newOperator, type BenchOperator } from '../lib/stack';
import { signalAndResume } from '../lib/temporal';

const RATE = 50;

/**
 * Waits: an internal event recorded → the workflow waiting for it resumed. `n` players each
 * have a deposit whose source-of-funds wait is open; then the operator writes each one's
 * verdict (`PUT …/state/sof_status`) at RATE per second. Measured per wait from the verdict's
 * commit (its `updated_at`, the database's clock) to the first workflow task completed after
 * the signal (Temporal's clock; one machine). The baseline, in the same run: a plain client
 * signalling plain workflows parked in `condition` at the same rate (bench/baselines/signal-floor.ts).
 */
export async function waits(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 200 : 1_000;
  const op = await newOperator(ctx.s, 'bench-waits');
  await call(ctx, op, 'PUT', '/workflows', {
    parameters: { sourceOfFundsThreshold: 1, sourceOfFundsDeadline: '1h', sourceOfFundsReminder: '2h' },
  });
  const players = Array.from({ length: n }, (_, i) => `waiting-${i}`);
  for (const p of players) await createPlayer(ctx.api.url!, op, p);
  for (const p of players)
    await call(ctx, op, 'POST', `/entities/${p}/events`, {
      eventType: 'transaction',
      data: { type: 'deposit', amount: 10, currency: 'EUR' },
    });
  await waitUntil(
    async () =>
      (
        await ctx.s.pool.query('select count(*)::int as c from entity_waits where operator_id = $1', [
          op.operatorId,
        ])
      ).rows[0].c === n,
    600_000,
    `${n} waits open`,
    500,
  );
  ctx.log(`waits: ${n} open; writing verdicts at ${RATE}/s`);
  const gap = 1000 / RATE;
  const t0 = Date.now();
  await Promise.all(
    players.map(async (p, i) => {
      await sleep(Math.max(0, t0 + i * gap - Date.now()));
      await call(ctx, op, 'PUT', `/entities/${p}/state/sof_status`, { value: 'verified' });
    }),
  );
  const { rows: committed } = await ctx.s.pool.query<{ external_id: string; at: Date }>(
    `select external_id, updated_at as at from entity_states where operator_id = $1 and state_key = 'sof_status'`,
    [op.operatorId],
  );
  const workflowOf = new Map<string, string>();
  for await (const wf of ctx.s.temporal.workflow.list({
    query: `OperatorId = '${op.operatorId}' AND EventType = 'transaction'`,
  }))
    workflowOf.set(wf.searchAttributes.EntityExternalId?.[0] as string, wf.workflowId);
  const latencies: number[] = [];
  // Where the time goes: commit → signal accepted by Temporal (our outbox, dispatcher and
  // the signal call), then signal → resumed (Temporal's matching and the worker).
  const delivered: number[] = [];
  const resumedAfter: number[] = [];
  let unresolved = 0;
  for (const c of committed) {
    const handle = ctx.s.temporal.workflow.getHandle(workflowOf.get(c.external_id)!);
    await handle.result();
    const t = signalAndResume(await handle.fetchHistory());
    if (t === undefined) unresolved++;
    else {
      latencies.push(t.resumed - c.at.getTime());
      delivered.push(t.signalled - c.at.getTime());
      resumedAfter.push(t.resumed - t.signalled);
    }
  }
  for (const list of [latencies, delivered, resumedAfter]) list.sort((a, b) => a - b);
  const product = { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  const floor = await runBaseline<{ count: number; p50: number; p99: number }>('signal-floor.ts', [
    ctx.s.temporalAddress,
    ctx.s.namespace,
    String(n),
    String(RATE),
  ]);
  ctx.log(
    `waits: verdict committed → resumed p99 ${fmt(product.p99)} ms (p50 ${fmt(product.p50)}); plain signal p99 ${fmt(floor.p99)} ms; ${unresolved} resumed without a signal (lookback)`,
  );
  ctx.rows.push({
    benchmark: 'Waits',
    metric:
      'the same, split: verdict commit → signal accepted by Temporal, p99 (ours: outbox, dispatcher, signal call)',
    measured: `${fmt(percentile(delivered, 99))} ms (p50 ${fmt(percentile(delivered, 50))})`,
    baseline: `signal accepted → workflow resumed, p99 ${fmt(percentile(resumedAfter, 99))} ms (p50 ${fmt(percentile(resumedAfter, 50))}): Temporal and the worker`,
    ratio: '—',
    target: '—',
  });
  ctx.rows.push({
    benchmark: 'Waits',
    metric: `verdict recorded (commit) → waiting workflow resumed, p99, ${fmt(n)} waits at ${RATE}/s`,
    measured: `${fmt(product.p99)} ms (p50 ${fmt(product.p50)}; ${latencies.length} by signal, ${unresolved} by lookback)`,
    baseline: `${fmt(floor.p99)} ms (p50 ${fmt(floor.p50)}): a plain client signalling plain waiting workflows`,
    ratio: ratio(product.p99, floor.p99),
    target: '≤ 1,000 ms and ≤ 1.50×',
    pass: product.p99 <= 1000 && product.p99 <= 1.5 * floor.p99 && latencies.length + unresolved === n,
  });
}

async function call(ctx: BenchContext, op: BenchOperator, method: string, path: string, body: unknown) {
  const res = await fetch(`${ctx.api.url}/operator-data-api${path}`, {
    method,
    headers: { authorization: `Bearer ${op.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
}
