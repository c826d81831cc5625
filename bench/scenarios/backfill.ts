import { randomBytes } from 'node:crypto';
import { authHeaders, autocannon } from '../lib/autocannon';
import {
  announcedCount,
  backfillSpan,
  checkReruns,
  configured,
  failureOf,
  pagePhases,
  rerunExecutions,
  startBackfillCli,
  type RerunCheck,
} from '../lib/backfill';
import { fmt, ratio, type BenchContext } from '../lib/context';
import { sleep, waitUntil } from '../lib/measure';
import { seedHistory } from '../lib/history';
import { betBody, createPlayer, newOperator, type BenchOperator } from '../lib/stack';
import { waitForCount } from '../lib/temporal';
import { redriveWorkflowId } from '../../workflows/redrive-types';
import { quiesce } from './fanout';
import { measureLag } from './lag';

/** A transaction rule, new to these events: the README's use case for a backfill. */
const DEFINITION = 'aml-threshold';
/** The rate at which the lag benchmark's target is set (p99 ≤ 500 ms at 50 events/s). */
const LIVE_RATE = 50;
const HISTORY_PLAYERS = 20;

/**
 * A backfill of `DEFINITION` over past events, started with the admin CLI at its default
 * `--rate`, while one operator's live traffic goes on: live commit → start lag during the
 * backfill against the same lag without it (same run, same Temporal state), the backfill's
 * achieved rate against its configured one, and that each selected event was re-run once.
 */
export async function backfill(ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 1_000 : 10_000;
  const { op, since, eventIds } = await seed(ctx, count);

  await steady(ctx, op, 'live-alone', ctx.quick ? 15 : 60);
  const alone = await measureLag(ctx, 'live-alone', op.operatorId);

  const redriveId = `rd_bench_${randomBytes(4).toString('hex')}`;
  const cli = startBackfillCli(ctx.s, [
    ...['--definition', DEFINITION, '--operator', op.operatorId],
    ...['--since', since.toISOString(), '--id', redriveId],
  ]);
  const rerunsQuery = `WorkflowId STARTS_WITH '${redriveWorkflowId(redriveId)}:'`;
  await waitUntil(
    async () => !cli.child.isRunning() || (await ctx.s.temporal.workflow.count(rerunsQuery)).count > 0,
    600_000,
    'the backfill starting its first re-run',
    250,
  );
  if (!cli.child.isRunning()) throw new Error(`the backfill CLI exited early:\n${cli.lines.join('\n')}`);
  const { rate, pageSize } = await configured(ctx.s.temporal, redriveId);
  // Live traffic within the backfill: 80 % of the time it takes at its configured rate.
  const liveS = Math.max(5, Math.floor((0.8 * count) / rate));
  ctx.log(
    `backfill ${redriveId} re-running (${announcedCount(cli.lines)} selected, --rate ${rate}); live traffic for ${liveS} s`,
  );
  await steady(ctx, op, 'live-beside', liveS);
  const runningThroughout = cli.child.isRunning();
  const beside = await measureLag(ctx, 'live-beside', op.operatorId);

  const exit = await Promise.race([cli.child.exited, sleep(((3 * count) / rate) * 1000 + 600_000)]);
  if (!exit || exit.code !== 0)
    throw new Error(
      `the backfill CLI did not finish (${JSON.stringify(exit)}; workflow: ${await failureOf(ctx.s.temporal, redriveId)}):\n` +
        cli.lines.slice(-20).join('\n'),
    );
  let span: Awaited<ReturnType<typeof backfillSpan>>;
  await waitUntil(
    async () => (span = await backfillSpan(ctx.s.temporal, redriveId)) !== undefined,
    60_000,
    'visibility of the backfill',
  );
  await waitForCount(ctx.s.temporal, rerunsQuery, count, 120_000);
  const executions = await rerunExecutions(ctx.s.temporal, redriveId);
  report(ctx, {
    count,
    rate,
    pageSize,
    phases: pagePhases(executions, pageSize),
    liveS,
    alone,
    beside: { ...beside, runningThroughout },
    span: span!,
    announced: announcedCount(cli.lines),
    check: checkReruns(redriveId, eventIds, executions),
  });
  await quiesce(ctx);
}

/** An operator with `count` past events its definition did not run for, their workflows done. */
async function seed(ctx: BenchContext, count: number) {
  const op = await newOperator(ctx.s, 'bench-backfill');
  const players = Array.from({ length: HISTORY_PLAYERS }, (_, i) => `history-${i}`);
  for (const p of [...players, 'live-alone', 'live-beside']) await createPlayer(ctx.api.url!, op, p);
  // The hour of history ends a minute ago: before the live traffic, inside the backfill's range.
  const since = new Date((await dbNow(ctx)).getTime() - 61 * 60_000);
  const eventIds = await seedHistory(ctx.s.pool, {
    operatorId: op.operatorId,
    players,
    count,
    without: DEFINITION,
    since,
  });
  // The original workflows must exist (a backfill skips events still in the outbox) and be
  // done, so both lag runs see the same Temporal.
  const seededAt = Date.now();
  await quiesce(ctx);
  ctx.log(
    `seeded ${count} past withdrawals; their own workflows ran in ${fmt((Date.now() - seededAt) / 1000, 1)} s`,
  );
  return { op, since, eventIds };
}

type Lag = Awaited<ReturnType<typeof measureLag>>;

function report(
  ctx: BenchContext,
  r: {
    count: number;
    rate: number;
    pageSize: number;
    phases: { runMs: number; gapMs: number };
    liveS: number;
    alone: Lag;
    beside: Lag & { runningThroughout: boolean };
    span: { startMs: number; closeMs: number; runs: number };
    announced: number | undefined;
    check: RerunCheck;
  },
): void {
  const { alone, beside, check } = r;
  const tookS = (r.span.closeMs - r.span.startMs) / 1000;
  const achieved = check.executions / tookS;
  ctx.log(
    `backfill: ${r.announced} selected, ${check.executions} re-runs in ${fmt(tookS, 1)} s ` +
      `(${fmt(achieved, 1)}/s, --rate ${r.rate}); live lag p99 ${fmt(beside.p99)} ms beside it, ${fmt(alone.p99)} ms alone` +
      (beside.runningThroughout ? '' : ' (the backfill ended before the live traffic did)'),
  );
  ctx.rows.push(
    {
      benchmark: 'Backfill',
      metric: `live traffic at ${LIVE_RATE} events/s: commit → started p99 during a backfill of ${fmt(r.count)} past events (${DEFINITION}, --rate ${r.rate}, ${r.liveS} s)`,
      measured: `${fmt(beside.p99)} ms (p50 ${fmt(beside.p50)}; ${beside.started} of ${beside.events}${beside.runningThroughout ? '' : '; the backfill ended first'})`,
      baseline: `${fmt(alone.p99)} ms (p50 ${fmt(alone.p50)}; ${alone.started} of ${alone.events}) without a backfill`,
      ratio: ratio(beside.p99, alone.p99),
      target: '—',
    },
    {
      benchmark: 'Backfill',
      metric: 'achieved rate: re-runs / (first start → last close of the backfill workflow)',
      measured:
        `${fmt(achieved, 1)}/s (${check.executions} in ${fmt(tookS, 1)} s, ${r.span.runs} runs; ` +
        `per page of ${r.pageSize}, mean: re-runs ${fmt(r.phases.runMs)} ms, then ${fmt(r.phases.gapMs)} ms to the next page's first start)`,
      baseline: `${r.rate}/s configured (--rate, the CLI's default): a page every ${fmt((1000 * r.pageSize) / r.rate)} ms`,
      ratio: ratio(achieved, r.rate),
      target: '—',
    },
    {
      benchmark: 'Backfill',
      metric: 'each selected event re-run exactly once (re-run workflows counted in Temporal)',
      measured: `${r.announced ?? '?'} selected of ${r.count} seeded; ${check.executions} re-runs: ${check.missing} missing, ${check.duplicated} twice, ${check.extra} extra, ${check.notCompleted} not completed`,
      baseline: '—',
      ratio: '—',
      target: 'exactly one each',
      pass:
        r.announced === r.count &&
        check.executions === r.count &&
        check.missing + check.duplicated + check.extra + check.notCompleted === 0,
    },
  );
}

async function dbNow(ctx: BenchContext): Promise<Date> {
  const { rows } = await ctx.s.pool.query<{ now: Date }>('select now()');
  return rows[0]!.now;
}

function steady(ctx: BenchContext, op: BenchOperator, player: string, durationS: number) {
  return autocannon({
    url: `${ctx.api.url}/operator-data-api/entities/${player}/events`,
    method: 'POST',
    headers: authHeaders(op.apiKey),
    body: betBody,
    connections: 8,
    overallRate: LIVE_RATE,
    durationS,
  });
}
