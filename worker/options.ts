import type { WorkerOptions } from '@temporalio/worker';

/** Options shared by the worker process and the tests' in-process workers. */
export function workerOptions(): Pick<WorkerOptions, 'workflowsPath' | 'shutdownGraceTime'> {
  return {
    workflowsPath: require.resolve('../workflows'),
    shutdownGraceTime: '30s',
  };
}
