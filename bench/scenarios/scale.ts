import { authHeaders, autocannon } from '../lib/autocannon';
import { fmt, type BenchContext } from '../lib/context';
import { sleep } from '../lib/measure';
import { outboxCount } from '../lib/seed';
import { betBody, createPlayer, newOperator, startApi, startWorker } from '../lib/stack';
import { startTimes, waitForCount } from '../lib/temporal';
import { drainOutbox } from './fanout';

/**
 * Two API processes and two workers against one Postgres and one Temporal, under ingest load
 * split between the APIs (as a load balancer would). Half-way through, API B is killed with
 * SIGKILL, losing its in-flight immediate starts; the relay of API A must pick those up.
 * Then: every event in Postgres has exactly one workflow, and the outbox is empty.
 */
export async function scale(ctx: BenchContext): Promise<void> {
  const d = ctx.quick ? 6 : 12;
  // Capped so that the backlog drains in minutes at this machine's workflow start rate.
  const ratePerApi = ctx.quick ? 100 : 250;
  const op = await newOperator(ctx.s, 'bench-scale');
  const [apiB, workerB] = await Promise.all([startApi(ctx.s, 'api-b'), startWorker(ctx.s, 'worker-b')]);
  try {
    const player = 'scale-player';
    await createPlayer(ctx.api.url!, op, player);
    const load = (url: string) =>
      autocannon({
        url: `${url}/operator-data-api/entities/${player}/events`,
        method: 'POST',
        headers: authHeaders(op.apiKey),
        body: betBody,
        connections: 32,
        durationS: d,
        overallRate: ratePerApi,
        timeoutS: 5,
      });
    const runs = Promise.all([load(ctx.api.url!), load(apiB.url!)]);
    await sleep((d * 1000) / 2);
    process.kill(apiB.pid, 'SIGKILL');
    const killedAt = Date.now();
    const [a, b] = await runs;
    const leftAtKill = await outboxCount(ctx.s.pool);
    const drainedAt = await drainOutbox(ctx, 600_000);

    const { rows } = await ctx.s.pool.query<{ id: string }>('select id from events where operator_id = $1', [
      op.operatorId,
    ]);
    // Entity creation fans out too; the guarantee checked here is the events'.
    const query = `OperatorId = '${op.operatorId}' AND EventType = 'game_activity'`;
    const counted = await waitForCount(ctx.s.temporal, query, rows.length, 120_000);
    const started = await startTimes(ctx.s.temporal, query);
    const expected = new Set(rows.map((r) => `entity_event.game_activity:${r.id}`));
    const missing = [...expected].filter((id) => !started.has(id)).length;
    const extra = [...started.keys()].filter((id) => !expected.has(id)).length;
    const outboxLeft = await outboxCount(ctx.s.pool);
    const holds = missing === 0 && extra === 0 && outboxLeft === 0 && counted === rows.length;
    const rps = a.rps + b.rps;
    ctx.log(
      `scale: API A ${fmt(a.rps)} req/s + API B ${fmt(b.rps)} req/s (killed after ${d / 2} s; ${b.errors} errors) = ${fmt(rps)} req/s; ` +
        `${rows.length} events, ${counted} workflows counted, missing ${missing}, extra ${extra}, outbox ${outboxLeft} ` +
        `(${leftAtKill} rows when the load ended, drained ${fmt((drainedAt - killedAt) / 1000, 1)} s after the kill)`,
    );
    ctx.rows.push({
      benchmark: 'Scale',
      metric: `2 APIs + 2 workers, 2 × 32 conn at ≤ ${ratePerApi} req/s each for ${d} s, API B SIGKILLed half-way: req/s`,
      measured: `${fmt(rps)} (A ${fmt(a.rps)}, B ${fmt(b.rps)}; p99 A ${a.p99} ms)`,
      baseline: '—',
      ratio: '—',
      target: '—',
    });
    ctx.rows.push({
      benchmark: 'Scale',
      metric: 'fan-out guarantee: events in Postgres = workflows in Temporal, outbox empty',
      measured: `${rows.length} events, ${counted} workflows (${missing} missing, ${extra} extra), outbox ${outboxLeft}`,
      baseline: '—',
      ratio: '—',
      target: 'exactly one each',
      pass: holds,
    });
  } finally {
    await Promise.all([apiB.child.stop(20_000), workerB.child.stop(40_000)]);
  }
}
