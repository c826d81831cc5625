import { existsSync } from 'node:fs';
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';

/**
 * Where `npm run build` (and so the image) writes the workflow bundle: next to the compiled
 * code, `dist/workflow-bundle.js`. From the TypeScript sources (tsx, jest) this path does not
 * exist, so development bundles at start as before.
 */
export const PREBUILT_WORKFLOW_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

type WorkflowCode = Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;

/**
 * The bundle built ahead of time when there is one (Temporal's advice for production: no
 * webpack run at start, and the code that runs is the code that was built and tested),
 * otherwise the workflow sources, bundled by the worker as it starts.
 */
export function workflowCode(bundlePath = PREBUILT_WORKFLOW_BUNDLE): WorkflowCode {
  if (existsSync(bundlePath)) return { workflowBundle: { codePath: bundlePath } };
  return { workflowsPath: require.resolve('../workflows') };
}

/** Options shared by the worker process and the tests' in-process workers. */
export function workerOptions(): WorkflowCode & Pick<WorkerOptions, 'shutdownGraceTime'> {
  return { ...workflowCode(), shutdownGraceTime: '30s' };
}

/** For the start-up log line: which workflow code this worker runs. */
export function describeWorkflowCode(code: WorkflowCode): string {
  const bundle = code.workflowBundle;
  if (bundle && 'codePath' in bundle) return `prebuilt bundle ${bundle.codePath}`;
  return `bundled at start from ${code.workflowsPath ?? '?'}`;
}
