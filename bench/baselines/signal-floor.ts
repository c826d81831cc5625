/**
 * Baseline for "Waits": Temporal's own time from a signal sent to the waiting workflow resumed,
 * on this server. A plain worker (default options, one workflow type that waits on a signal with
 * `condition`, its own task queue) in this process; a plain client starts `count` of them, waits
 * until each has run its first task, then signals them at `rate` per second. Measured per
 * workflow from the client's send to the server's time of the workflow task that completed
 * after the signal (history event times, the product side's clock too).
 * Usage: signal-floor.ts <address> <namespace> <count> <rate>
 * Prints JSON: { count, p50, p99 } in milliseconds.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { resumedAfterSignal } from '../lib/temporal';
import { percentile } from '../lib/measure';

const silent = () => undefined;

async function main(): Promise<void> {
  const [address, namespace, count, rate] = process.argv.slice(2);
  const total = Number(count);
  Runtime.install({
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent },
  });
  const taskQueue = `signal-floor-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: address! }),
    namespace: namespace!,
    taskQueue,
    workflowsPath: require.resolve('./signal-workflow'),
  });
  const connection = await Connection.connect({ address: address! });
  const client = new Client({ connection, namespace: namespace! });
  const latencies = await worker.runUntil(async () => {
    const ids = Array.from({ length: total }, (_, i) => `${taskQueue}-${i}`);
    for (const workflowId of ids) await client.workflow.start('signalledWorkflow', { taskQueue, workflowId });
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
    const out: number[] = [];
    for (const id of ids) {
      await client.workflow.getHandle(id).result();
      const resumed = resumedAfterSignal(await client.workflow.getHandle(id).fetchHistory());
      if (resumed !== undefined) out.push(resumed - sentAt.get(id)!);
    }
    return out.sort((a, b) => a - b);
  });
  await connection.close();
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
