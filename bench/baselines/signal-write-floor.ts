/**
 * Baseline for "KYC results": the least a waiting workflow can do with a result that arrives,
 * on this server and this Postgres. A plain worker (default options, its own task queue) in this
 * process runs one workflow type that waits on a signal with `condition` and then one activity
 * that upserts a row (its own table, one statement, `clock_timestamp()` as the written time); a
 * plain client starts `count` of them, waits until each has run its first task, then signals
 * them at `rate` per second. Measured per workflow from the client's send to the row's written
 * time (this machine's clock on both sides).
 * Usage: signal-write-floor.ts <address> <namespace> <databaseUrl> <count> <rate>
 * Prints JSON: { count, p50, p99 } in milliseconds.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import pg from 'pg';
import { percentile } from '../lib/measure';

const silent = () => undefined;

async function main(): Promise<void> {
  const [address, namespace, databaseUrl, count, rate] = process.argv.slice(2);
  const total = Number(count);
  Runtime.install({
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent },
  });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  const table = `bench_signal_write_${randomBytes(4).toString('hex')}`;
  await pool.query(`create table ${table} (id text primary key, written_at timestamptz not null)`);
  const taskQueue = `signal-write-floor-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: address! }),
    namespace: namespace!,
    taskQueue,
    workflowsPath: require.resolve('./signal-write-workflow'),
    activities: {
      async writeRow(id: string): Promise<void> {
        await pool.query(
          `insert into ${table} (id, written_at) values ($1, clock_timestamp())
           on conflict (id) do update set written_at = clock_timestamp()`,
          [id],
        );
      },
    },
  });
  const connection = await Connection.connect({ address: address! });
  const client = new Client({ connection, namespace: namespace! });
  const latencies = await worker.runUntil(async () => {
    const ids = Array.from({ length: total }, (_, i) => `${taskQueue}-${i}`);
    for (const workflowId of ids)
      await client.workflow.start('signalledWriteWorkflow', { taskQueue, workflowId, args: [workflowId] });
    // Every one parked in its condition (its first task done) before the first signal.
    for (const id of ids) {
      for (;;) {
        const h = await client.workflow.getHandle(id).fetchHistory();
        if ((h.events ?? []).some((e) => e.workflowTaskCompletedEventAttributes)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const sentAt = new Map<string, number>();
    const gap = 1000 / Number(rate);
    const t0 = Date.now();
    await Promise.all(
      ids.map(async (id, i) => {
        await new Promise((r) => setTimeout(r, Math.max(0, t0 + i * gap - Date.now())));
        sentAt.set(id, Date.now());
        await client.workflow.getHandle(id).signal('wake', 'go');
      }),
    );
    for (const id of ids) await client.workflow.getHandle(id).result();
    const { rows } = await pool.query<{ id: string; at: Date }>(`select id, written_at as at from ${table}`);
    return rows.map((r) => r.at.getTime() - sentAt.get(r.id)!).sort((a, b) => a - b);
  });
  await connection.close();
  await pool.query(`drop table ${table}`);
  await pool.end();
  console.log(
    JSON.stringify({
      count: latencies.length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
