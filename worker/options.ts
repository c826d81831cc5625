import { existsSync } from 'node:fs';
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from '../core/config';

/**
 * Where `npm run build` (and so the image) writes the workflow bundle: next to the compiled
 * code, `dist/workflow-bundle.js`. From the TypeScript sources (tsx, jest) this path does not
 * exist, so development bundles at start as before.
 */
export const PREBUILT_WORKFLOW_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

export type WorkflowCode = Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;

/**
 * The bundle built ahead of time when there is one (Temporal's advice for production: no
 * webpack run at start, and the code that runs is the code that was built and tested),
 * otherwise the workflow sources, bundled by the worker as it starts.
 */
export function workflowCode(bundlePath = PREBUILT_WORKFLOW_BUNDLE): WorkflowCode {
  if (existsSync(bundlePath)) return { workflowBundle: { codePath: bundlePath } };
  return { workflowsPath: require.resolve('../workflows') };
}

/** Options of the worker process besides its workflow code (worker/versioning.ts loads that). */
export function workerOptions(
  config: Pick<Config, 'WORKER_WORKFLOW_TASK_SLOTS' | 'WORKER_WORKFLOW_CACHE'>,
): Pick<WorkerOptions, 'shutdownGraceTime' | 'maxConcurrentWorkflowTaskExecutions' | 'maxCachedWorkflows'> {
  return {
    shutdownGraceTime: '30s',
    maxConcurrentWorkflowTaskExecutions: config.WORKER_WORKFLOW_TASK_SLOTS,
    ...(config.WORKER_WORKFLOW_CACHE !== undefined && { maxCachedWorkflows: config.WORKER_WORKFLOW_CACHE }),
  };
}
