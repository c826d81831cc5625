import { DEFAULT_MAX_IN_FLIGHT } from '../../core/fanout/dispatcher';
import { fmt, ratio, runBaseline, type BenchContext } from '../lib/context';
import { describeCpu, sleep } from '../lib/measure';
import { seedEvents } from '../lib/seed';
import { createPlayer } from '../lib/stack';
import { quiesce } from './fanout';

/**
 * End-to-end fan-out of game rounds with nothing subscribed: `n` events committed with their
 * outbox rows at once (as a batch records them), until visibility counts every event's
 * workflow completed — against Temporal's floor on the same server: `n` empty workflows
 * started by a plain client loop at the relay's concurrency and run by a plain worker.
 */
export async function fanoutEndToEnd(ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 300 : 1000;
  const player = 'e2e-player';
  await createPlayer(ctx.api.url!, ctx.op, player);
  await quiesce(ctx);
  const cpuBefore = ctx.cpu.snapshot();
  const t0 = Date.now();
  await seedEvents(ctx.s.pool, { operatorId: ctx.op.operatorId, externalId: player, count: n, outbox: true });
  const query = `OperatorId = '${ctx.op.operatorId}' AND EntityExternalId = '${player}' AND ExecutionStatus = 'Completed'`;
  const deadline = Date.now() + 900_000;
  while ((await ctx.s.temporal.workflow.count(query)).count < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} workflows completed within 15 minutes`);
    await sleep(100);
  }
  const productS = (Date.now() - t0) / 1000;
  const productCpu = ctx.cpu.perUnit(cpuBefore, n);
  const productRate = n / productS;
  const floorBefore = ctx.cpu.snapshot();
  const floor = await runBaseline<{
    rate: number;
    durationS: number;
    actionsPerWorkflow: number;
    cpuMsPerWorkflow: number;
  }>('temporal-floor.ts', [ctx.s.temporalAddress, ctx.s.namespace, String(n), String(DEFAULT_MAX_IN_FLIGHT)]);
  const floorCpu = ctx.cpu.perUnit(floorBefore, n);
  ctx.log(
    `e2e: product ${fmt(productRate, 1)} events/s fanned out and completed; floor ${fmt(floor.rate, 1)}/s`,
  );
  const floorCpuText = `${describeCpu(floorCpu)}, its own worker + client ${floor.cpuMsPerWorkflow.toFixed(2)}`;
  ctx.log(`  CPU ms per event: product ${describeCpu(productCpu)}; floor ${floorCpuText}`);
  ctx.rows.push({
    benchmark: 'Fan-out end to end',
    metric: `${n} game rounds, nothing subscribed: recorded → workflow completed, events/s`,
    measured: fmt(productRate, 1),
    baseline: `${fmt(floor.rate, 1)} empty workflows/s (client loop, ${DEFAULT_MAX_IN_FLIGHT} in flight, plain worker)`,
    ratio: ratio(productRate, floor.rate),
    target: '≥ 0.80×',
    pass: productRate >= 0.8 * floor.rate,
  });
  ctx.rows.push({
    benchmark: 'Fan-out end to end',
    metric:
      'CPU ms per event by process: product run | floor run (its own worker and client are not metered)',
    measured: describeCpu(productCpu),
    baseline: describeCpu(floorCpu),
    ratio: '—',
    target: '—',
  });
  ctx.rows.push({
    benchmark: 'Temporal Actions',
    metric: 'the floor: one empty workflow started by a client, counted from its history',
    measured: `${floor.actionsPerWorkflow} Action(s)`,
    baseline: '—',
    ratio: '—',
    target: '—',
  });
}
