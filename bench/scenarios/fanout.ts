import { DEFAULT_MAX_IN_FLIGHT } from '../../core/fanout/dispatcher';
import { fmt, ratio, runBaseline, type BenchContext } from '../lib/context';
import { describeCpu, sleep } from '../lib/measure';
import { outboxCount, seedEvents } from '../lib/seed';
import { createPlayer } from '../lib/stack';

/** The dispatcher's default budget (FANOUT_MAX_IN_FLIGHT): starts the relay has in flight at once. */
const IN_FLIGHT = DEFAULT_MAX_IN_FLIGHT;

/** Waits until the outbox is empty; returns when, or throws. */
export async function drainOutbox(ctx: BenchContext, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await outboxCount(ctx.s.pool)) === 0) return Date.now();
    await sleep(50);
  }
  throw new Error(`the outbox did not drain within ${timeoutMs / 1000} s`);
}

/**
 * Until the outbox is empty and no workflow runs (three polls in a row): what an earlier
 * benchmark started must not be measured as part of the next one.
 */
export async function quiesce(ctx: BenchContext, timeoutMs = 600_000): Promise<void> {
  await drainOutbox(ctx, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 3) {
    if (Date.now() > deadline) throw new Error(`workflows still running after ${timeoutMs / 1000} s`);
    quiet = (await ctx.s.temporal.workflow.count(`ExecutionStatus = 'Running'`)).count === 0 ? quiet + 1 : 0;
    await sleep(500);
  }
}

/**
 * Workflows started per second by the API's relay (outbox rows written by SQL, so only the
 * relay starts them) against a minimal client.workflow.start loop at the relay's concurrency.
 */
export async function fanoutStart(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 600 : 3000;
  const player = 'fanout-player';
  await createPlayer(ctx.api.url!, ctx.op, player);
  await drainOutbox(ctx, 300_000);
  await seedEvents(ctx.s.pool, { operatorId: ctx.op.operatorId, externalId: player, count: n, outbox: true });
  // The relay sweeps every second; measure its drain rate from its first cleared batch on.
  let first: { at: number; left: number } | undefined;
  let end = 0;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const left = await outboxCount(ctx.s.pool);
    if (!first && left < n) first = { at: Date.now(), left };
    if (left === 0) {
      end = Date.now();
      break;
    }
    await sleep(20);
  }
  if (!first || !end) throw new Error('the relay did not drain the outbox');
  const relayRate = first.left / ((end - first.at) / 1000);
  const cpuBefore = ctx.cpu.snapshot();
  const base = await runBaseline<{ rate: number; durationS: number }>('temporal-start.ts', [
    ctx.s.temporalAddress,
    ctx.s.namespace,
    ctx.s.taskQueue,
    String(n),
    String(IN_FLIGHT),
    ctx.op.operatorId,
  ]);
  // What one start costs the Temporal server here: the ceiling for fan-out on this machine.
  const baseCpu = ctx.cpu.perUnit(cpuBefore, n);
  ctx.known.fanoutMaxRate = relayRate;
  ctx.log(
    `fan-out start: relay ${fmt(relayRate)} workflows/s; client.workflow.start loop ${fmt(base.rate)}/s`,
  );
  ctx.log(`  CPU ms per workflow, start loop run: ${describeCpu(baseCpu)}`);
  ctx.rows.push({
    benchmark: 'Fan-out start',
    metric: `relay, ${n} outbox rows: workflows started/s`,
    measured: fmt(relayRate),
    baseline: `${fmt(base.rate)} start loop (${IN_FLIGHT} in flight)`,
    ratio: ratio(relayRate, base.rate),
    target: '≥ 0.80×',
    pass: relayRate >= 0.8 * base.rate,
  });
  const temporalMs = baseCpu.temporal ?? NaN;
  ctx.rows.push({
    benchmark: 'Fan-out start',
    metric: 'CPU ms per fan-out workflow (its start and its run), start loop, by process',
    measured: `${describeCpu(baseCpu)}; Temporal alone tops out at ≈ ${fmt(2000 / temporalMs)}/s on 2 cores`,
    baseline: '—',
    ratio: '—',
    target: '—',
  });
}
