import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Client, Connection } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { bundleWorkflowCode, type WorkerDeploymentOptions } from '@temporalio/worker';
import type { Config } from '../core/config';
import type { WorkflowCode } from './options';

/**
 * Worker Deployment Versioning: every worker polls as one version (deployment name + build
 * id) of one deployment; the server sends a new workflow to the deployment's current version,
 * keeps a PINNED workflow on the version that started it, and moves an AUTO_UPGRADE one to the
 * current version at its next task. Each workflow type declares its behaviour in its own file
 * (`setWorkflowOptions`); docs/authors/changing-safely.md says which and why.
 */

/**
 * For a type that declares nothing (only the retired fan-out shape): pinned, the choice that
 * needs no `patched()` for any change.
 */
export const DEFAULT_VERSIONING_BEHAVIOR = 'PINNED' as const;

const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error };

/** What a worker loads: the bundle's text, already made (no second webpack run in Worker.create). */
export interface LoadedWorkflowCode {
  workflowBundle: { code: string };
  /** Where it came from, for the start-up log line. */
  source: string;
}

/**
 * Reads the prebuilt bundle, or bundles the workflow sources once (development, tests). The
 * worker passes the SDK's logger, as Worker.create would use when it bundled: its lines
 * ("Workflow bundle created") go where the SDK's go.
 */
export async function loadWorkflowCode(
  code: WorkflowCode,
  logger: Parameters<typeof bundleWorkflowCode>[0]['logger'] = quiet,
): Promise<LoadedWorkflowCode> {
  const bundle = code.workflowBundle;
  if (bundle && 'codePath' in bundle) {
    return {
      workflowBundle: { code: await readFile(bundle.codePath, 'utf8') },
      source: `prebuilt bundle ${bundle.codePath}`,
    };
  }
  const workflowsPath = code.workflowsPath ?? require.resolve('../workflows');
  const { code: bundled } = await bundleWorkflowCode({ workflowsPath, logger });
  return { workflowBundle: { code: bundled }, source: `bundled at start from ${workflowsPath}` };
}

/**
 * The default build id: a hash of the workflow bundle. A change to workflow code is a new
 * build (its workflows start pinned to it); a release that changes only activities keeps the
 * build, so its workers join the running version and the old ones can go at once.
 */
export function bundleBuildId(bundleCode: string): string {
  return `wf-${createHash('sha256').update(bundleCode).digest('hex').slice(0, 16)}`;
}

/** This worker's version: the configured build id, else the bundle's hash. */
export function workerVersion(
  config: Pick<Config, 'TEMPORAL_DEPLOYMENT_NAME' | 'WORKER_BUILD_ID'>,
  bundleCode: string,
): WorkerDeploymentVersion {
  return {
    deploymentName: config.TEMPORAL_DEPLOYMENT_NAME,
    buildId: config.WORKER_BUILD_ID ?? bundleBuildId(bundleCode),
  };
}

export function deploymentOptions(version: WorkerDeploymentVersion): WorkerDeploymentOptions {
  return { version, useWorkerVersioning: true, defaultVersioningBehavior: DEFAULT_VERSIONING_BEHAVIOR };
}

/** `deployment:buildId`, as the search attribute TemporalWorkerDeploymentVersion holds it. */
export const versionKey = (v: WorkerDeploymentVersion): string => `${v.deploymentName}:${v.buildId}`;

/** gRPC codes worth waiting out while a new version's first polls register it. */
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;
const ABORTED = 10;
const UNAVAILABLE = 14;
const REGISTERING = new Set([NOT_FOUND, FAILED_PRECONDITION, ABORTED, UNAVAILABLE]);

/**
 * Makes `version` its deployment's current version, as the deploy step
 * (`temporal worker deployment set-current-version`) does in production. The server knows a
 * version only once a worker of it has polled (until then: NOT_FOUND, "does your Worker
 * Deployment have pollers?"; measured on the 1.32.0 dev server: under a second after
 * `worker.run()`), so this retries until `timeoutMs`. Answers the version it replaced, if any.
 */
export async function makeVersionCurrent(
  connection: Connection,
  namespace: string,
  version: WorkerDeploymentVersion,
  o: { timeoutMs?: number; identity?: string } = {},
): Promise<{ changed: boolean; previous?: WorkerDeploymentVersion }> {
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    try {
      const { workerDeploymentInfo } = await connection.workflowService.describeWorkerDeployment({
        namespace,
        deploymentName: version.deploymentName,
      });
      const current = workerDeploymentInfo?.routingConfig?.currentDeploymentVersion;
      if (current?.buildId === version.buildId) return { changed: false };
      const answer = await connection.workflowService.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: version.deploymentName,
        buildId: version.buildId,
        identity: o.identity ?? 'igaming-event-ingest worker',
      });
      const previous = answer.previousDeploymentVersion;
      return {
        changed: true,
        ...(previous?.buildId
          ? { previous: { deploymentName: previous.deploymentName ?? '', buildId: previous.buildId } }
          : {}),
      };
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === undefined || !REGISTERING.has(code) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Running workflows of this deployment pinned to another version: they keep that version's
 * workers needed (docs/authors/changing-safely.md). Auto-upgrading ones are left out:
 * they move to the current version at their next task.
 */
export function pinnedElsewhereQuery(version: WorkerDeploymentVersion): string {
  return (
    `TemporalWorkerDeployment = '${version.deploymentName}' AND ` +
    `TemporalWorkerDeploymentVersion != '${versionKey(version)}' AND ` +
    `TemporalWorkflowVersioningBehavior = 'Pinned' AND ExecutionStatus = 'Running'`
  );
}

export async function countPinnedElsewhere(
  client: Client,
  version: WorkerDeploymentVersion,
): Promise<number> {
  const { count } = await client.workflow.count(pinnedElsewhereQuery(version));
  return count;
}
