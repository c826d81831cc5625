/**
 * Container health check for the worker, which serves no HTTP: healthy while Temporal reports
 * a workflow-task poller from this host on our task queue. Exit code 0 = healthy.
 */
import os from 'node:os';
import { Connection } from '@temporalio/client';
import { loadConfig } from '../core/config';

/** temporal.api.enums.v1 TaskQueueKind.NORMAL and TaskQueueType.WORKFLOW */
const NORMAL_KIND = 1;
const WORKFLOW_TYPE = 1;
/** A live poller long-polls for at most a minute, so it is seen at least that often. */
const MAX_POLLER_SILENCE_MS = 120_000;

async function main(): Promise<boolean> {
  const config = loadConfig();
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, connectTimeout: 3000 });
  try {
    const { pollers } = await connection.workflowService.describeTaskQueue({
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: { name: config.TEMPORAL_TASK_QUEUE, kind: NORMAL_KIND },
      taskQueueType: WORKFLOW_TYPE,
    });
    // The SDK's default worker identity is `<pid>@<hostname>`; in a container the hostname is ours alone.
    // Temporal keeps listing a poller for minutes after it stops, hence the recency check.
    return pollers.some(
      (poller) =>
        poller.identity?.endsWith(`@${os.hostname()}`) &&
        Date.now() - Number(poller.lastAccessTime?.seconds ?? 0) * 1000 < MAX_POLLER_SILENCE_MS,
    );
  } finally {
    await connection.close();
  }
}

main().then(
  (healthy) => {
    if (!healthy) console.error('no poller from this host on the task queue');
    process.exit(healthy ? 0 : 1);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
