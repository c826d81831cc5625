import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../scripts/lib/project';
import { authHeaders, autocannon, probe, type LoadOptions } from '../lib/autocannon';
import { fmt, ratio, type BenchContext } from '../lib/context';
import { describeCpu } from '../lib/measure';
import { eventCount } from '../lib/seed';
import { createPlayer } from '../lib/stack';

const run = promisify(execFile);
const BATCH = 5000;
const DIR = path.join(PROJECT_ROOT, '.local', 'bench');
const data = { game_id: 'slot_starburst', bet_amount: 2.5, currency: 'GBP', round_id: 'r_1' };

/** /batch/events with 5,000-item batches against COPY of the same rows into the same table. */
export async function batch(ctx: BenchContext): Promise<void> {
  const batches = ctx.quick ? 2 : 12;
  const player = 'batch-player';
  await createPlayer(ctx.api.url!, ctx.op, player);
  await fs.mkdir(DIR, { recursive: true });
  const bodyFile = path.join(DIR, 'batch-body.json');
  const items = Array.from({ length: BATCH }, () => ({
    externalId: player,
    eventType: 'game_activity',
    data,
  }));
  await fs.writeFile(bodyFile, JSON.stringify(items));
  const o: LoadOptions = {
    url: `${ctx.api.url}/operator-data-api/batch/events`,
    method: 'POST',
    headers: authHeaders(ctx.op.apiKey),
    bodyFile,
    connections: 2,
    amount: batches,
    timeoutS: 120,
  };
  await probe({ ...o, bodyFile: undefined, body: JSON.stringify(items.slice(0, 2)) });
  const before = await eventCount(ctx.s.pool, ctx.op.operatorId, player);
  const cpuBefore = ctx.cpu.snapshot();
  const api = await autocannon(o);
  const cpu = ctx.cpu.perUnit(cpuBefore, batches * BATCH);
  const recorded = (await eventCount(ctx.s.pool, ctx.op.operatorId, player)) - before;
  // The fan-out of these events is measured by the fan-out benchmarks; left in the outbox it
  // would keep this 2-core machine starting workflows through the benchmarks that follow.
  const { rowCount: dropped } = await ctx.s.pool.query(
    `delete from fanout_outbox where operator_id = $1 and payload->>'externalId' = $2`,
    [ctx.op.operatorId, player],
  );
  ctx.log(`batch: ${dropped ?? 0} of its outbox rows not yet started were deleted after the measurement`);
  const apiRate = recorded / api.durationS;

  // COPY of the same rows (same columns, same jsonb) by psql, its own process.
  const csvFile = path.join(DIR, 'batch-rows.csv');
  const json = JSON.stringify(data).replace(/"/g, '""');
  const lines: string[] = [];
  for (let i = 0; i < batches * BATCH; i++) {
    lines.push(
      `eev_${randomBytes(8).toString('hex')},${ctx.op.operatorId},copy-player,game_activity,"${json}"`,
    );
  }
  await fs.writeFile(csvFile, lines.join('\n') + '\n');
  const copyCpuBefore = ctx.cpu.snapshot();
  const started = process.hrtime.bigint();
  await run('psql', ['--version']).catch(() => {
    throw new Error(
      'the batch baseline runs COPY through psql: install the PostgreSQL client (apt-get install postgresql-client)',
    );
  });
  await run('psql', [
    ctx.s.databaseUrl,
    '-v',
    'ON_ERROR_STOP=1',
    '-c',
    `\\copy events (id, operator_id, external_id, event_type, data) from '${csvFile}' with (format csv)`,
  ]);
  const copyS = Number(process.hrtime.bigint() - started) / 1e9;
  const copyRate = (batches * BATCH) / copyS;
  const copyCpu = ctx.cpu.perUnit(copyCpuBefore, batches * BATCH);
  ctx.log(
    `  CPU ms per event, batch: ${describeCpu(cpu)}; COPY: postgres ${fmt(copyCpu.postgres ?? NaN, 3)}`,
  );
  ctx.log(
    `batch: ${recorded} events in ${fmt(api.durationS, 1)} s = ${fmt(apiRate)} events/s (batch p50 ${api.p50} ms); ` +
      `COPY ${batches * BATCH} rows in ${fmt(copyS, 2)} s = ${fmt(copyRate)} rows/s`,
  );
  const complete = recorded === batches * BATCH;
  ctx.rows.push({
    benchmark: 'Batch',
    metric: `/batch/events, ${batches} × ${BATCH} items, 2 conn: events/s`,
    measured: `${fmt(apiRate)}${complete ? '' : ` (${recorded} of ${batches * BATCH} recorded)`}`,
    baseline: `${fmt(copyRate)} COPY`,
    ratio: ratio(apiRate, copyRate),
    target: '≥ 0.50× and ≥ 20,000/s',
    // CPU per event is in the log line above the table.
    pass: complete && apiRate >= 0.5 * copyRate && apiRate >= 20_000,
  });
}
