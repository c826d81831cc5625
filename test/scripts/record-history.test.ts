import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { fixtureHistory, recordHistory, type HistoryFixture } from '../../scripts/record-history';
import { deploymentOptions, makeVersionCurrent } from '../../worker/versioning';
import { testEnv } from '../support/env';
import { eventually } from '../support/workflow-harness';

/**
 * scripts/record-history.ts on a workflow that waits (the test-only bundle of
 * test/fixtures/versioning: a memo, then a wait for a signal), with a real worker.
 */
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'versioning');
const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn() {}, error: console.error };

describe('scripts/record-history.ts', () => {
  let connection: Connection;
  let native: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let dir: string;
  const bundles: Record<'v1' | 'v2', string> = { v1: '', v2: '' };
  const env = testEnv();
  const taskQueue = `record-history-${randomBytes(4).toString('hex')}`;
  const version = { deploymentName: taskQueue, buildId: 'build-1' };

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    for (const v of ['v1', 'v2'] as const) {
      const workflowsPath = path.join(FIXTURES, `${v}.ts`);
      bundles[v] = (await bundleWorkflowCode({ workflowsPath, logger: quiet })).code;
    }
    connection = await Connection.connect({ address: env.temporalAddress });
    native = await NativeConnection.connect({ address: env.temporalAddress });
    worker = await Worker.create({
      connection: native,
      namespace: env.namespace,
      taskQueue,
      workflowBundle: { code: bundles.v1 },
      workerDeploymentOptions: deploymentOptions(version),
      shutdownGraceTime: '1s',
    });
    running = worker.run();
    await makeVersionCurrent(connection, env.namespace, version, { timeoutMs: 30_000 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'record-history-'));
  }, 120_000);

  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await native?.close();
    await connection?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a running workflow unless --open, then records its history so far, which replays on its code and not on changed steps', async () => {
    const client = new Client({ connection, namespace: env.namespace });
    const handle = await client.workflow.start('pinnedApproval', {
      taskQueue,
      workflowId: `record-open-${randomBytes(4).toString('hex')}`,
    });
    // Waiting: its memo (the first task's command) is in the history.
    await eventually(async () => {
      const { events } = await handle.fetchHistory();
      return events?.some((e) => e.workflowPropertiesModifiedEventAttributes) ? true : undefined;
    });
    const o = {
      address: env.temporalAddress,
      namespace: env.namespace,
      name: 'waiting',
      description: 'mid-wait',
      dir,
    };

    await expect(recordHistory(handle.workflowId, o)).rejects.toThrow(/still running.*--open/);

    const { file } = await recordHistory(handle.workflowId, { ...o, open: true });
    const fixture = JSON.parse(await readFile(file, 'utf8')) as HistoryFixture;
    expect(fixture).toMatchObject({
      workflowId: handle.workflowId,
      workflowType: 'pinnedApproval',
      open: true,
    });
    const history = fixtureHistory(fixture);
    expect(history.events?.some((e) => e.workflowExecutionCompletedEventAttributes)).toBe(false);
    await expect(
      Worker.runReplayHistory({ workflowBundle: { code: bundles.v1 } }, history, fixture.workflowId),
    ).resolves.toBeUndefined();
    await expect(
      Worker.runReplayHistory({ workflowBundle: { code: bundles.v2 } }, history, fixture.workflowId),
    ).rejects.toThrow(/[Nn]ondetermin/);

    // Once finished, it records without --open, and says nothing of being open.
    await handle.signal('decide', 'approved');
    await handle.result();
    const finished = await recordHistory(handle.workflowId, { ...o, name: 'finished' });
    expect(finished.fixture.open).toBeUndefined();
    expect(finished.fixture.history).toBeDefined();
  }, 60_000);
});
