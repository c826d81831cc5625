import { authHeaders, autocannon } from '../lib/autocannon';
import { fmt, ratio, runBaseline, type BenchContext } from '../lib/context';
import { sleep } from '../lib/measure';
import { outboxCount, seedEvents } from '../lib/seed';
import { betBody, createPlayer, newOperator, type BenchOperator } from '../lib/stack';
import { quiesce } from './fanout';
import { measureLag } from './lag';

const RATE = 20;

/**
 * Fair across operators: operator B's commit → start lag at a steady rate, with no backlog
 * and then while operator A has a large backlog queued (its events committed with their
 * outbox rows at once, as a batch or a replay leaves them).
 */
export async function fairness(ctx: BenchContext): Promise<void> {
  const backlog = ctx.quick ? 3_000 : 10_000;
  const durationS = ctx.quick ? 5 : 15;
  const a = await newOperator(ctx.s, 'bench-backlog');
  const b = await newOperator(ctx.s, 'bench-steady');
  await createPlayer(ctx.api.url!, a, 'backlog-player');
  await createPlayer(ctx.api.url!, b, 'steady-alone');
  await createPlayer(ctx.api.url!, b, 'steady-beside');
  await quiesce(ctx);

  await steady(ctx, b, 'steady-alone', durationS);
  const alone = await measureLag(ctx, 'steady-alone', b.operatorId);
  const plainAlone = await lonePlainStarts(ctx, b);

  await seedEvents(ctx.s.pool, {
    operatorId: a.operatorId,
    externalId: 'backlog-player',
    count: backlog,
    outbox: true,
  });
  await steady(ctx, b, 'steady-beside', durationS);
  // Temporal's own answer time under the same load: one plain start at a time, by a client.
  const plainBeside = await lonePlainStarts(ctx, b);
  const leftAfter = await outboxCount(ctx.s.pool);
  const beside = await measureLag(ctx, 'steady-beside', b.operatorId, false);
  ctx.log(
    `fairness: B beside the backlog p99 ${fmt(beside.p99)} ms, alone ${fmt(alone.p99)} ms; A's backlog still queued after B's run: ${leftAfter}`,
  );
  ctx.rows.push({
    benchmark: 'Fairness',
    metric: `operator B at ${RATE} events/s: commit → started p99, with A's ${fmt(backlog)}-event backlog queued`,
    measured: `${fmt(beside.p99)} ms (p50 ${fmt(beside.p50)}; ${beside.started} of ${beside.events}; ${fmt(leftAfter)} of A's rows still queued after)`,
    baseline: `${fmt(alone.p99)} ms (p50 ${fmt(alone.p50)}) without the backlog`,
    ratio: ratio(beside.p99, alone.p99),
    target: '≤ 2.00×',
    pass: beside.p99 <= 2 * alone.p99 && beside.started === beside.events,
  });
  ctx.rows.push({
    benchmark: 'Fairness',
    metric:
      "the same, for a plain client's lone workflow starts (1 in flight), p99: Temporal's own slowdown under A's backlog",
    measured: `${fmt(plainBeside.p99)} ms with the backlog`,
    baseline: `${fmt(plainAlone.p99)} ms without`,
    ratio: ratio(plainBeside.p99, plainAlone.p99),
    target: '—',
  });
  // A's backlog would keep this 2-core machine busy through whatever runs next.
  await ctx.s.pool.query('delete from fanout_outbox where operator_id = $1', [a.operatorId]);
  const running = `OperatorId = '${a.operatorId}' AND ExecutionStatus = 'Running'`;
  const deadline = Date.now() + 600_000;
  while ((await ctx.s.temporal.workflow.count(running)).count > 0 && Date.now() < deadline) await sleep(1000);
}

function lonePlainStarts(ctx: BenchContext, op: BenchOperator) {
  return runBaseline<{ p50: number; p99: number }>('temporal-start.ts', [
    ctx.s.temporalAddress,
    ctx.s.namespace,
    ctx.s.taskQueue,
    String(ctx.quick ? 40 : 100),
    '1',
    op.operatorId,
  ]);
}

function steady(ctx: BenchContext, op: BenchOperator, player: string, durationS: number) {
  return autocannon({
    url: `${ctx.api.url}/operator-data-api/entities/${player}/events`,
    method: 'POST',
    headers: authHeaders(op.apiKey),
    body: betBody,
    connections: 4,
    overallRate: RATE,
    durationS,
  });
}
