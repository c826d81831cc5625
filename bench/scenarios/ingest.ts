import { authHeaders, autocannon, probe, type LoadOptions, type LoadResult } from '../lib/autocannon';
import { fmt, ratio, runBaseline, type BenchContext } from '../lib/context';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../scripts/lib/project';
import { cpuSecondsOf, describeCpu } from '../lib/measure';
import { betBody, createPlayer } from '../lib/stack';

interface PgLoop {
  rps: number;
  p50: number;
  p99: number;
}

const CONNECTIONS = [1, 16, 64] as const;
const player = 'ingest-player';

async function postEvents(
  ctx: BenchContext,
  connections: number,
  durationS: number,
  overallRate?: number,
): Promise<LoadResult> {
  const o: LoadOptions = {
    url: `${ctx.api.url}/operator-data-api/entities/${player}/events`,
    method: 'POST',
    headers: authHeaders(ctx.op.apiKey),
    body: betBody,
    connections,
    durationS,
    overallRate,
  };
  await probe(o);
  return autocannon(o);
}

/**
 * POST /events at 1, 16 and 64 connections against the same single-row insert straight into
 * Postgres at the same concurrency; then p99 at half the highest rate reached.
 */
export async function ingest(ctx: BenchContext): Promise<void> {
  const d = ctx.quick ? 3 : 6;
  await createPlayer(ctx.api.url!, ctx.op, player);
  await postEvents(ctx, 16, ctx.quick ? 1 : 3); // warm-up: JIT, pool connections, auth cache
  let max = 0;
  let baseline64: PgLoop | undefined;
  for (const c of CONNECTIONS) {
    let cpuBefore = ctx.cpu.snapshot();
    const api = await postEvents(ctx, c, d);
    const apiCpu = ctx.cpu.perUnit(cpuBefore, api.ok);
    cpuBefore = ctx.cpu.snapshot();
    const base = await runBaseline<PgLoop & { count: number }>('pg-insert.ts', [
      ctx.s.databaseUrl,
      String(c),
      String(d),
      ctx.op.operatorId,
      player,
    ]);
    ctx.log(
      `ingest c=${c}: API ${fmt(api.rps)} req/s (p50 ${api.p50} ms, p99 ${api.p99} ms, non-2xx ${api.non2xx}, errors ${api.errors}); ` +
        `pg ${fmt(base.rps)} rows/s (p50 ${fmt(base.p50, 2)} ms, p99 ${fmt(base.p99, 2)} ms)`,
    );
    const baseCpu = ctx.cpu.perUnit(cpuBefore, base.count);
    ctx.log(`  CPU ms per event, API run: ${describeCpu(apiCpu)}; pg baseline run: ${describeCpu(baseCpu)}`);
    max = Math.max(max, api.rps);
    if (c === 64) baseline64 = base;
    ctx.rows.push({
      benchmark: 'Ingest',
      metric: `POST /events, ${c} conn: req/s (p50 / p99)`,
      measured: `${fmt(api.rps)} (${api.p50} / ${api.p99} ms)${api.non2xx + api.errors > 0 ? `, ${api.non2xx + api.errors} failed` : ''}`,
      baseline: `${fmt(base.rps)} (${fmt(base.p50, 1)} / ${fmt(base.p99, 1)} ms) pg insert`,
      ratio: ratio(api.rps, base.rps),
      target: c === 64 ? '≥ 0.50×' : '—',
      pass: c === 64 ? api.rps >= 0.5 * base.rps && api.non2xx + api.errors === 0 : undefined,
    });
    if (c === 64) {
      ctx.rows.push({
        benchmark: 'Ingest',
        metric: 'CPU ms per event at 64 conn, by process (incl. the fan-out it causes)',
        measured: describeCpu(apiCpu),
        baseline: `${describeCpu({ postgres: baseCpu.postgres ?? NaN })} pg insert`,
        ratio: '—',
        target: '—',
      });
    }
  }
  ctx.known.ingestMaxRps = max;
  await eventLoopDelay(ctx); // prom-client resets its event-loop histogram on each scrape
  const half = await postEvents(ctx, 16, d, max / 2);
  const loop = await eventLoopDelay(ctx);
  ctx.log(
    `ingest at ${fmt(max / 2)} req/s (half of max): p50 ${half.p50} ms, p99 ${half.p99} ms; ` +
      `API event-loop delay meanwhile p99 ${fmt(loop.p99, 1)} ms, max ${fmt(loop.max, 1)} ms`,
  );
  ctx.rows.push({
    benchmark: 'Ingest',
    metric: `p99 at half the max rate (${fmt(max / 2)} req/s, 16 conn)`,
    measured: `${half.p99} ms (p50 ${half.p50} ms, ${fmt(half.rps)} req/s done; API event-loop delay p99 ${fmt(loop.p99, 1)} ms)`,
    baseline: '—',
    ratio: '—',
    target: '≤ 25 ms',
    pass: half.p99 <= 25 && half.non2xx + half.errors === 0,
  });
  await withTemporalFrozen(ctx, d, baseline64);
  await dropBacklog(ctx);
}

/**
 * The same ingest with the Temporal server stopped by SIGSTOP: it answers nothing and uses no
 * CPU, as in an outage or with Temporal on its own machines. Shows what recording alone costs
 * (the fan-out waits in the outbox) and that recording does not slow down when Temporal
 * does. The targets above are judged with the fan-out running, not on these rows.
 */
async function withTemporalFrozen(ctx: BenchContext, d: number, base: PgLoop | undefined): Promise<void> {
  const pid = ctx.s.pids.temporal;
  if (pid === undefined || !base) {
    ctx.log('ingest with Temporal frozen: skipped (Temporal is not a server this run started)');
    return;
  }
  process.kill(pid, 'SIGSTOP');
  try {
    await postEvents(ctx, 64, 1); // the dispatcher's budget fills with starts that hang
    const cpuBefore = ctx.cpu.snapshot();
    const full = await postEvents(ctx, 64, d);
    const cpu = ctx.cpu.perUnit(cpuBefore, full.ok);
    await eventLoopDelay(ctx);
    const half = await postEvents(ctx, 16, d, full.rps / 2);
    const loop = await eventLoopDelay(ctx);
    ctx.log(
      `ingest, Temporal frozen: c=64 ${fmt(full.rps)} req/s (p50 ${full.p50} ms, p99 ${full.p99} ms), CPU ms per event ${describeCpu(cpu)}; ` +
        `at ${fmt(full.rps / 2)} req/s: p50 ${half.p50} ms, p99 ${half.p99} ms, event-loop delay p99 ${fmt(loop.p99, 1)} ms`,
    );
    ctx.rows.push({
      benchmark: 'Ingest',
      metric: 'Temporal frozen (SIGSTOP), 64 conn: req/s (p50 / p99); CPU ms per event',
      measured: `${fmt(full.rps)} (${full.p50} / ${full.p99} ms)${full.non2xx + full.errors > 0 ? `, ${full.non2xx + full.errors} failed` : ''}; ${describeCpu(cpu)}`,
      baseline: `${fmt(base.rps)} pg insert (64 conn, above)`,
      ratio: ratio(full.rps, base.rps),
      target: '—',
    });
    ctx.rows.push({
      benchmark: 'Ingest',
      metric: `Temporal frozen: p99 at half that rate (${fmt(full.rps / 2)} req/s, 16 conn)`,
      measured: `${half.p99} ms (p50 ${half.p50} ms; API event-loop delay p99 ${fmt(loop.p99, 1)} ms)`,
      baseline: '—',
      ratio: '—',
      target: '—',
    });
    await httpFloor(ctx, d);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/**
 * The HTTP floor on this machine: bench/baselines/http-floor.ts (a bare node:http server that
 * reads and parses the same body and answers 201) at 64 connections, with its CPU per request.
 * Run while Temporal is frozen, so it shares the cores with as little as the API run did.
 */
async function httpFloor(ctx: BenchContext, d: number): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'baselines', 'http-floor.ts')],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`http-floor.ts exited with ${code}`)));
    });
    const { port } = JSON.parse(line) as { port: number };
    const o: LoadOptions = {
      url: `http://127.0.0.1:${port}/operator-data-api/entities/${player}/events`,
      method: 'POST',
      headers: authHeaders(ctx.op.apiKey),
      body: betBody,
      connections: 64,
      durationS: d,
    };
    await probe(o);
    const before = cpuSecondsOf(child.pid!);
    const r = await autocannon(o);
    const cpuMs = ((cpuSecondsOf(child.pid!) - before) * 1000) / Math.max(1, r.ok);
    ctx.log(
      `HTTP floor (bare node:http): c=64 ${fmt(r.rps)} req/s (p50 ${r.p50} ms, p99 ${r.p99} ms), CPU ${fmt(cpuMs, 3)} ms per request`,
    );
    ctx.rows.push({
      benchmark: 'Ingest',
      metric:
        'HTTP floor: bare node:http server (read and parse the body, answer 201), 64 conn: req/s; CPU ms per request',
      measured: `${fmt(r.rps)} (${r.p50} / ${r.p99} ms); ${fmt(cpuMs, 2)} ms`,
      baseline: '—',
      ratio: '—',
      target: '—',
    });
  } finally {
    child.kill('SIGTERM');
  }
}

/** Resident memory of the API and worker at peak ingest (sampled during the ingest runs). */
export async function memory(ctx: BenchContext): Promise<void> {
  if (!ctx.known.ingestMaxRps) {
    await createPlayer(ctx.api.url!, ctx.op, player);
    await postEvents(ctx, 64, ctx.quick ? 3 : 10);
  }
  const peak = ctx.rss.stop();
  ctx.rss.start();
  const api = peak.get('api') ?? NaN;
  const worker = peak.get('worker') ?? NaN;
  ctx.log(`memory: API peak RSS ${fmt(api)} MB, worker ${fmt(worker)} MB`);
  ctx.rows.push({
    benchmark: 'Memory',
    metric: 'API resident memory at peak ingest',
    measured: `${fmt(api)} MB`,
    baseline: '—',
    ratio: '—',
    target: '≤ 250 MB',
    pass: api <= 250,
  });
  ctx.rows.push({
    benchmark: 'Memory',
    metric: 'worker resident memory at peak ingest',
    measured: `${fmt(worker)} MB`,
    baseline: '—',
    ratio: '—',
    target: '—',
  });
}

/**
 * Recording outruns workflow starts on this machine, so ingest leaves a backlog in the outbox.
 * Its size is reported; the rows are then deleted so that the benchmarks that follow measure
 * their own fan-out, not this one's (fan-out is measured by the fanout and lag benchmarks).
 */
async function dropBacklog(ctx: BenchContext): Promise<void> {
  const { rowCount } = await ctx.s.pool.query(
    `delete from fanout_outbox where operator_id = $1 and payload->>'externalId' = $2`,
    [ctx.op.operatorId, player],
  );
  ctx.log(`ingest left ${rowCount ?? 0} outbox rows not yet started (deleted now)`);
  ctx.rows.push({
    benchmark: 'Ingest',
    metric: 'outbox rows not yet started when the ingest runs ended',
    measured: fmt(rowCount ?? 0),
    baseline: '—',
    ratio: '—',
    target: '—',
  });
}

/** The API's event-loop delay since the previous scrape, from its own /metrics (prom-client). */
async function eventLoopDelay(ctx: BenchContext): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${ctx.api.url}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
}
