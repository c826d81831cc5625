import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import {
  deploymentOptions,
  makeVersionCurrent,
  pinnedElsewhereQuery,
  versionKey,
} from '../../worker/versioning';
import type { ApprovalResult } from '../fixtures/versioning/shared';
import { testEnv } from '../support/env';
import { eventually } from '../support/workflow-harness';

/**
 * A deploy while workflows wait, on the real dev server with real workers: build 1 of a
 * test-only bundle (test/fixtures/versioning/v1.ts) starts executions that wait for a signal;
 * build 2 (v2.ts) adds a timer before the wait, which build 1's histories cannot replay. Build
 * 2 becomes current while build 1's workers keep running, as the deploy steps in docs/ops/deploy.md say.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'versioning');
const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn() {}, error: console.error };

const tag = randomBytes(4).toString('hex');
const taskQueue = `versioning-${tag}`;
const build1: WorkerDeploymentVersion = { deploymentName: `versioning-${tag}`, buildId: 'build-1' };
const build2: WorkerDeploymentVersion = { ...build1, buildId: 'build-2' };

let connection: Connection;
let native: NativeConnection;
let client: Client;
let namespace: string;
const bundles: Record<'v1' | 'v2', string> = { v1: '', v2: '' };
const running: Array<{ worker: Worker; done: Promise<void> }> = [];

beforeAll(async () => {
  // The SDK's own lines (worker state changes; the replay below's expected nondeterminism) are not news here.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = testEnv();
  namespace = env.namespace;
  connection = await Connection.connect({ address: env.temporalAddress });
  native = await NativeConnection.connect({ address: env.temporalAddress });
  client = new Client({ connection, namespace });
  for (const v of ['v1', 'v2'] as const) {
    const workflowsPath = path.join(FIXTURES, `${v}.ts`);
    bundles[v] = (await bundleWorkflowCode({ workflowsPath, logger: quiet })).code;
  }
}, 120_000);

afterAll(async () => {
  for (const { worker } of running) if (worker.getState() === 'RUNNING') worker.shutdown();
  await Promise.all(running.map((r) => r.done));
  await native?.close();
  await connection?.close();
});

/** Workers of one build polling the task queue, that build made current (the deploy step). */
async function deploy(version: WorkerDeploymentVersion, code: string) {
  const worker = await Worker.create({
    connection: native,
    namespace,
    taskQueue,
    workflowBundle: { code },
    workerDeploymentOptions: deploymentOptions(version),
    shutdownGraceTime: '1s',
  });
  running.push({ worker, done: worker.run() });
  return makeVersionCurrent(connection, namespace, version, { timeoutMs: 30_000 });
}

const start = (type: 'pinnedApproval' | 'upgradingApproval', id: string) =>
  client.workflow.start(type, { taskQueue, workflowId: `${id}-${tag}` });

/** The build that completed the execution's last workflow task, as the server records it. */
async function buildOf(handle: WorkflowHandle): Promise<string | undefined> {
  const { raw } = await handle.describe();
  return raw.workflowExecutionInfo?.versioningInfo?.deploymentVersion?.buildId ?? undefined;
}

const count = async (query: string) => (await client.workflow.count(query)).count;

describe('Worker Deployment Versioning: open workflows meet a new build', () => {
  it('keeps pinned executions on the build that started them, moves auto-upgrade ones, and starts new ones on the current build', async () => {
    expect(await deploy(build1, bundles.v1)).toEqual({ changed: true });
    const pinnedOld = await Promise.all([1, 2, 3].map((i) => start('pinnedApproval', `pinned-old-${i}`)));
    const upgradingOld = await start('upgradingApproval', 'upgrading-old');
    const old = [...pinnedOld, upgradingOld];
    // Each has run its first task on build 1 and now waits for its decision.
    await eventually(async () => {
      const builds = await Promise.all(old.map(buildOf));
      return builds.every((b) => b === 'build-1') ? builds : undefined;
    });

    // Build 2's code cannot take over a waiting build-1 history: pinning is what saves it.
    const history = await pinnedOld[0]!.fetchHistory();
    await expect(
      Worker.runReplayHistory({ workflowBundle: { code: bundles.v2 } }, history, pinnedOld[0]!.workflowId),
    ).rejects.toThrow(/[Nn]ondetermin/);
    await expect(
      Worker.runReplayHistory({ workflowBundle: { code: bundles.v1 } }, history, pinnedOld[0]!.workflowId),
    ).resolves.toBeUndefined();

    // The deploy: build 2's workers start and become current; build 1's keep running.
    expect(await deploy(build2, bundles.v2)).toEqual({ changed: true, previous: build1 });
    // The check before retiring build 1 (docs/ops/deploy.md) finds its pinned executions.
    const runningOnBuild1 = `TemporalWorkerDeploymentVersion = '${versionKey(build1)}' AND ExecutionStatus = 'Running'`;
    await eventually(async () => ((await count(pinnedElsewhereQuery(build2))) === 3 ? true : undefined));

    const pinnedNew = await start('pinnedApproval', 'pinned-new');
    const upgradingNew = await start('upgradingApproval', 'upgrading-new');
    // The server spreads the new current version to the task queue's partitions on its own
    // schedule (a CI run once saw the auto-upgrade execution's next task still go to build 1):
    // signal only once new executions have run their first task on build 2.
    await eventually(async () => {
      const builds = await Promise.all([pinnedNew, upgradingNew].map(buildOf));
      return builds.every((b) => b === 'build-2') ? true : undefined;
    });
    for (const handle of [...old, pinnedNew, upgradingNew]) await handle.signal('decide', 'approved');

    // Pinned: finished on build 1's code, though build 2 is current.
    for (const handle of pinnedOld) {
      await expect(handle.result() as Promise<ApprovalResult>).resolves.toEqual({
        code: 'v1',
        steps: ['requested', 'approved (v1)'],
        startedOn: 'build-1',
        finishedOn: 'build-1',
      });
    }
    // Auto-upgrade: moved to build 2 at its next task; `patched()` kept it off the new timer,
    // which its history does not have, and the rest ran build 2's code.
    await expect(upgradingOld.result() as Promise<ApprovalResult>).resolves.toEqual({
      code: 'v2',
      steps: ['requested', 'approved (v2)'],
      startedOn: 'build-1',
      finishedOn: 'build-2',
    });
    // New executions of both types: build 2 from their first task.
    for (const handle of [pinnedNew, upgradingNew]) {
      await expect(handle.result() as Promise<ApprovalResult>).resolves.toEqual({
        code: 'v2',
        steps: ['requested', 'reminder timer', 'approved (v2)'],
        startedOn: 'build-2',
        finishedOn: 'build-2',
      });
    }
    expect(await buildOf(upgradingOld)).toBe('build-2');

    // Nothing runs on build 1 any more: its workers can be retired.
    await eventually(async () => ((await count(runningOnBuild1)) === 0 ? true : undefined));
    expect(await count(pinnedElsewhereQuery(build2))).toBe(0);
  }, 120_000);
});
