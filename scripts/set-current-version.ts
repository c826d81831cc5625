/**
 * The deploy step that makes this build's workers take new workflows:
 *
 *   node dist/scripts/set-current-version.js      (in the image: docker-compose's worker-set-current)
 *
 * Computes the version exactly as the worker does (TEMPORAL_DEPLOYMENT_NAME, WORKER_BUILD_ID or
 * the hash of the workflow bundle next to it), waits until workers of that version poll, makes
 * it the deployment's current version, and says how many running workflows stay pinned to
 * older builds (their workers must keep running until that count is 0). The Temporal CLI does
 * the same given the build id: `temporal worker deployment set-current-version`.
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../core/config';
import { workflowCode } from '../worker/options';
import {
  countPinnedElsewhere,
  loadWorkflowCode,
  makeVersionCurrent,
  pinnedElsewhereQuery,
  versionKey,
  workerVersion,
} from '../worker/versioning';

async function main(): Promise<void> {
  const config = loadConfig();
  const code = await loadWorkflowCode(workflowCode());
  const version = workerVersion(config, code.workflowBundle.code);
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const { changed, previous } = await makeVersionCurrent(connection, config.TEMPORAL_NAMESPACE, version, {
      timeoutMs: 120_000,
      identity: 'set-current-version',
    });
    console.log(
      changed
        ? `${versionKey(version)} is now current${previous ? ` (was ${versionKey(previous)})` : ''}`
        : `${versionKey(version)} was already current`,
    );
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const pinned = await countPinnedElsewhere(client, version);
    if (pinned > 0) {
      console.log(
        `${pinned} running workflows stay pinned to older builds; keep their workers until none is left:\n` +
          `  temporal workflow count --query "${pinnedElsewhereQuery(version)}"`,
      );
    }
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
