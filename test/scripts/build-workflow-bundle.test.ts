import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { buildWorkflowBundle } from '../../scripts/build-workflow-bundle';
import { FIXTURES_DIR, fixtureHistory, type HistoryFixture } from '../../scripts/record-history';
import { workflowCode } from '../../worker/options';

jest.setTimeout(180_000);

/**
 * The bundle `npm run build` writes for the image must run the workflows that are running
 * in production: it replays every committed history, whatever workflow types they hold.
 */
const fixtures = readdirSync(FIXTURES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({
    file: f,
    ...(JSON.parse(readFileSync(path.join(FIXTURES_DIR, f), 'utf8')) as HistoryFixture),
  }));

describe('scripts/build-workflow-bundle', () => {
  let dir: string;
  let bundlePath: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'workflow-bundle-'));
    bundlePath = path.join(dir, 'nested', 'workflow-bundle.js');
    await buildWorkflowBundle(bundlePath);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a bundle that replays every committed history without a divergence', async () => {
    expect(fixtures.length).toBeGreaterThan(0);
    const outcomes: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: bundlePath }, replayName: 'prebuilt-bundle-replay' },
      fixtures.map((f) => ({ workflowId: f.workflowId, history: fixtureHistory(f) })),
    )) {
      outcomes.push(`${result.workflowId}: ${result.error ? result.error.message : 'ok'}`);
    }
    expect(outcomes.sort()).toEqual(fixtures.map((f) => `${f.workflowId}: ok`).sort());
  });

  it('is what the worker loads when it exists; without it the worker bundles the sources', () => {
    expect(workflowCode(bundlePath)).toEqual({ workflowBundle: { codePath: bundlePath } });
    const fallback = workflowCode(path.join(dir, 'absent.js'));
    expect(fallback.workflowBundle).toBeUndefined();
    expect(fallback.workflowsPath).toBe(require.resolve('../../workflows'));
  });
});
