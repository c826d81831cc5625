import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig } from '../core/config';
import { createPool } from '../core/db/pool';
import { createLogger } from '../core/logger';
import { activityInterceptor } from './activity-interceptor';
import { createWorkerMetrics, serveMetrics } from './metrics';
import { workerOptions, workflowCode } from './options';
import { ensurePartitionSchedule } from './partition-schedule';
import { ensureRetentionSchedule } from './retention-schedule';
import { installSdkRuntime } from './sdk-telemetry';
import {
  countPinnedElsewhere,
  deploymentOptions,
  loadWorkflowCode,
  makeVersionCurrent,
  versionKey,
  workerVersion,
} from './versioning';

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
  const code = await loadWorkflowCode(workflowCode(), Runtime.instance().logger);
  const version = workerVersion(config, code.workflowBundle.code);
  const worker = await Worker.create({
    ...workerOptions(config),
    workflowBundle: code.workflowBundle,
    workerDeploymentOptions: deploymentOptions(version),
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: createActivities({ pool, log, config }),
    interceptors: { activity: [activityInterceptor(log, metrics)] },
  });
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
  const scheduleId = await ensureRetentionSchedule(client, config.TEMPORAL_TASK_QUEUE);
  log.info({ scheduleId }, 'retention schedule in place');
  const partitionScheduleId = await ensurePartitionSchedule(client, config.TEMPORAL_TASK_QUEUE);
  log.info({ scheduleId: partitionScheduleId }, 'event-partitions schedule in place');
  // Worker.run() handles SIGINT/SIGTERM itself: stops polling, finishes in-flight tasks, resolves.
  const running = worker.run();
  log.info(
    {
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      address: config.TEMPORAL_ADDRESS,
      workflows: code.source,
      version: versionKey(version),
    },
    'worker polling',
  );
  if (config.WORKER_SET_CURRENT_VERSION) {
    // The server knows the version only once this worker has polled: hence after run().
    try {
      const { changed, previous } = await makeVersionCurrent(
        clientConnection,
        config.TEMPORAL_NAMESPACE,
        version,
      );
      const pinnedElsewhere = await countPinnedElsewhere(client, version);
      log.info(
        {
          version: versionKey(version),
          changed,
          previous: previous && versionKey(previous),
          pinnedElsewhere,
        },
        pinnedElsewhere > 0
          ? 'current version set; running workflows stay pinned to older builds, which need their own workers'
          : 'current version set',
      );
    } catch (err) {
      log.error({ err, version: versionKey(version) }, 'could not make this version current; stopping');
      worker.shutdown();
      process.exitCode = 1;
    }
  }
  await running;
  await clientConnection.close();
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
