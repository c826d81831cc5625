/**
 * Bundles the workflow code ahead of time (`npm run build`, so also the image build):
 *
 *   node dist/scripts/build-workflow-bundle.js [out-file]
 *
 * writes dist/workflow-bundle.js, which the worker then loads as `workflowBundle` instead of
 * running webpack at every start (worker/options.ts). Run from dist it bundles the compiled
 * dist/workflows, the very files the image ships.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { PREBUILT_WORKFLOW_BUNDLE } from '../worker/options';

const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error };

/** Writes the bundle of `workflowsPath` (default: the workflows next to this file) to `outFile`. */
export async function buildWorkflowBundle(
  outFile: string,
  workflowsPath = require.resolve('../workflows'),
): Promise<{ bytes: number }> {
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
  await mkdir(path.dirname(outFile), { recursive: true });
  // Written whole then renamed: a worker starting meanwhile never loads half a file.
  const tmp = `${outFile}.${process.pid}.tmp`;
  await writeFile(tmp, code);
  await rename(tmp, outFile);
  return { bytes: Buffer.byteLength(code) };
}

if (require.main === module) {
  const outFile = path.resolve(process.argv[2] ?? PREBUILT_WORKFLOW_BUNDLE);
  buildWorkflowBundle(outFile).then(
    ({ bytes }) => console.log(`Workflow bundle: ${outFile} (${(bytes / 1024).toFixed(0)} KiB)`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
