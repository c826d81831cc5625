/**
 * Baseline for the end-to-end fan-out: Temporal's own floor on this server. A plain worker
 * (default options, one empty workflow type, its own task queue) in this process, and a plain
 * client loop starting `count` empty workflows with `concurrency` starts in flight; measured
 * from the first start until visibility counts every one completed (as the product side is).
 * Prints JSON: the rate, and the Actions of one floor workflow counted from its history.
 * Usage: temporal-floor.ts <address> <namespace> <count> <concurrency>
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { actionsOf } from '../lib/actions';

async function main(): Promise<void> {
  const [address, namespace, count, concurrency] = process.argv.slice(2);
  const total = Number(count);
  Runtime.install({
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    },
  });
  const taskQueue = `floor-${randomBytes(4).toString('hex')}`;
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: address! }),
    namespace: namespace!,
    taskQueue,
    workflowsPath: require.resolve('./empty-workflow'),
  });
  const connection = await Connection.connect({ address: address! });
  const client = new Client({ connection, namespace: namespace! });
  const result = await worker.runUntil(async () => {
    let next = 0;
    // This process's CPU from here on: the plain worker and the client loop, per workflow.
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: Number(concurrency) }, async () => {
        while (next < total) {
          const i = next++;
          await client.workflow.start('emptyWorkflow', { taskQueue, workflowId: `${taskQueue}-${i}` });
        }
      }),
    );
    const startedS = Number(process.hrtime.bigint() - started) / 1e9;
    const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'`;
    while ((await client.workflow.count(query)).count < total) await new Promise((r) => setTimeout(r, 100));
    const durationS = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMsPerWorkflow = (cpu.user + cpu.system) / 1000 / total;
    const actions = actionsOf(await client.workflow.getHandle(`${taskQueue}-0`).fetchHistory());
    return {
      count: total,
      startedS,
      durationS,
      rate: total / durationS,
      actionsPerWorkflow: actions,
      cpuMsPerWorkflow,
    };
  });
  await connection.close();
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
