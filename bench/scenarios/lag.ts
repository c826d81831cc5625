import { DEFAULT_MAX_IN_FLIGHT } from '../../core/fanout/dispatcher';
import { authHeaders, autocannon, type LoadOptions } from '../lib/autocannon';
import { fmt, runBaseline, type BenchContext } from '../lib/context';
import { percentile } from '../lib/measure';
import { eventCount } from '../lib/seed';
import { betBody, createPlayer } from '../lib/stack';
import { startTimes, waitForCount } from '../lib/temporal';
import { drainOutbox } from './fanout';

interface Lag {
  events: number;
  started: number;
  p50: number;
  p99: number;
  max: number;
}

/** commit → workflow start per event: events.created_at (Postgres) against startTime (Temporal). */
export async function measureLag(
  ctx: BenchContext,
  player: string,
  operatorId = ctx.op.operatorId,
  drain = true,
): Promise<Lag> {
  if (drain) await drainOutbox(ctx, 600_000);
  const { rows } = await ctx.s.pool.query<{ id: string; at: Date }>(
    'select id, created_at as at from events where operator_id = $1 and external_id = $2',
    [operatorId, player],
  );
  const query = `OperatorId = '${operatorId}' AND EntityExternalId = '${player}'`;
  await waitForCount(ctx.s.temporal, query, rows.length, 120_000);
  const starts = await startTimes(ctx.s.temporal, query);
  const lags: number[] = [];
  for (const r of rows) {
    const t = starts.get(`entity_event.game_activity:${r.id}`);
    if (t !== undefined) lags.push(t - r.at.getTime());
  }
  lags.sort((a, b) => a - b);
  return {
    events: rows.length,
    started: lags.length,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    max: lags[lags.length - 1] ?? NaN,
  };
}

function post(ctx: BenchContext, player: string, o: Partial<LoadOptions>) {
  return autocannon({
    url: `${ctx.api.url}/operator-data-api/entities/${player}/events`,
    method: 'POST',
    headers: authHeaders(ctx.op.apiKey),
    body: betBody,
    connections: 16,
    ...o,
  });
}

/**
 * Commit → workflow started at a steady 50 events/s and at 80 % of the measured maximum, then
 * the time a backlog takes to drain after a burst.
 */
export async function fanoutLag(ctx: BenchContext): Promise<void> {
  const d = ctx.quick ? 3 : 15;
  if (!ctx.known.ingestMaxRps) {
    await createPlayer(ctx.api.url!, ctx.op, 'lag-probe');
    ctx.known.ingestMaxRps = (await post(ctx, 'lag-probe', { connections: 64, durationS: 3 })).rps;
  }
  if (ctx.known.fanoutMaxRate === undefined) {
    // Run alone (--only lag): the fan-out start benchmark did not measure it; a short start
    // loop at the dispatcher's budget stands in for it.
    const loop = await runBaseline<{ rate: number }>('temporal-start.ts', [
      ctx.s.temporalAddress,
      ctx.s.namespace,
      ctx.s.taskQueue,
      String(ctx.quick ? 200 : 1000),
      String(DEFAULT_MAX_IN_FLIGHT),
      ctx.op.operatorId,
    ]);
    ctx.known.fanoutMaxRate = loop.rate;
    ctx.log(`fan-out maximum not measured in this run: a start loop reached ${fmt(loop.rate)}/s`);
  }
  // Above the fan-out start maximum the backlog (and so the lag) grows without bound, so
  // "the maximum" is the lower of what ingest and fan-out start each reached.
  const max = Math.min(ctx.known.ingestMaxRps, ctx.known.fanoutMaxRate ?? Infinity);
  // The floor under any commit → start lag: one client.workflow.start call on its own.
  const rpc = await runBaseline<{ p50: number; p99: number }>('temporal-start.ts', [
    ctx.s.temporalAddress,
    ctx.s.namespace,
    ctx.s.taskQueue,
    String(ctx.quick ? 30 : 200),
    '1',
    ctx.op.operatorId,
  ]);
  ctx.log(`a lone client.workflow.start takes p50 ${fmt(rpc.p50, 1)} ms, p99 ${fmt(rpc.p99, 1)} ms`);
  for (const [label, rate] of [
    ['50 events/s', 50],
    [`80 % of max (${fmt(0.8 * max)} events/s)`, 0.8 * max],
  ] as const) {
    const player = `lag-${Math.round(rate)}`;
    await createPlayer(ctx.api.url!, ctx.op, player);
    const load = await post(ctx, player, {
      overallRate: rate,
      durationS: d,
      connections: rate > 100 ? 32 : 8,
    });
    const lag = await measureLag(ctx, player);
    ctx.log(
      `fan-out lag at ${label}: ${lag.started}/${lag.events} started, p50 ${fmt(lag.p50)} ms, p99 ${fmt(lag.p99)} ms (ingest p99 ${load.p99} ms)`,
    );
    ctx.rows.push({
      benchmark: 'Fan-out lag',
      metric: `commit → started at ${label}, p50 / p99`,
      measured: `${fmt(lag.p50)} / ${fmt(lag.p99)} ms (${lag.started} of ${lag.events})`,
      baseline: `${fmt(rpc.p50)} / ${fmt(rpc.p99)} ms one start call, sequential`,
      ratio: '—',
      target: rate === 50 ? 'p99 ≤ 500 ms' : '—',
      pass: rate === 50 ? lag.p99 <= 500 && lag.started === lag.events : undefined,
    });
  }

  const burst = ctx.quick ? 500 : 10_000;
  const player = 'lag-burst';
  await createPlayer(ctx.api.url!, ctx.op, player);
  const load = await post(ctx, player, { connections: 64, amount: burst });
  const drainedAt = await drainOutbox(ctx, 600_000);
  const recorded = await eventCount(ctx.s.pool, ctx.op.operatorId, player);
  const lag = await measureLag(ctx, player);
  const drainS = (drainedAt - load.finishedAt) / 1000;
  ctx.log(
    `burst of ${recorded} events in ${fmt(load.durationS, 1)} s: outbox empty ${fmt(drainS, 1)} s after the burst; ` +
      `${lag.started} workflows, lag p50 ${fmt(lag.p50)} ms, p99 ${fmt(lag.p99)} ms, max ${fmt(lag.max)} ms`,
  );
  ctx.rows.push({
    benchmark: 'Fan-out lag',
    metric: `backlog after a burst of ${fmt(burst)} events (sent in ${fmt(load.durationS, 1)} s)`,
    measured: `drained ${fmt(Math.max(0, drainS), 1)} s after the burst; ${lag.started} of ${recorded} started; last start ${fmt(lag.max / 1000, 1)} s after its commit`,
    baseline: '—',
    ratio: '—',
    target: 'drains',
    pass: lag.started === recorded && recorded === load.ok,
  });
}
