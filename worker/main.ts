import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig } from '../core/config';
import { createPool } from '../core/db/pool';
import { createLogger } from '../core/logger';
import { activityInterceptor } from './activity-interceptor';
import { createWorkerMetrics, serveMetrics } from './metrics';
import { describeWorkflowCode, workerOptions } from './options';
import { ensureRetentionSchedule } from './retention-schedule';
import { installSdkRuntime } from './sdk-telemetry';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'worker');
  const metrics = createWorkerMetrics();
  const sdk = installSdkRuntime(log, metrics);
  const pool = createPool(config.DATABASE_URL, 10);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const metricsServer =
    config.WORKER_METRICS_PORT === undefined
      ? undefined
      : await serveMetrics(metrics, config.WORKER_METRICS_PORT, config.HOST);
  if (metricsServer) log.info({ port: metricsServer.port }, 'worker metrics on /metrics');
  const options = workerOptions();
  const worker = await Worker.create({
    ...options,
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: createActivities({ pool, log, config }),
    interceptors: { activity: [activityInterceptor(log, metrics)] },
  });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const scheduleId = await ensureRetentionSchedule(
    new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE }),
    config.TEMPORAL_TASK_QUEUE,
  );
  await clientConnection.close();
  log.info({ scheduleId }, 'retention schedule in place');
  log.info(
    {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      address: config.TEMPORAL_ADDRESS,
      workflows: describeWorkflowCode(options),
    },
    'worker polling',
  );
  // Worker.run() handles SIGINT/SIGTERM itself: stops polling, finishes in-flight tasks, resolves.
  await worker.run();
  sdk.stop();
  await metricsServer?.close();
  await pool.end();
  await connection.close();
  log.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
