import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { FIXTURES_DIR, fixtureHistory, type HistoryFixture } from '../../scripts/record-history';
import * as registered from '../../workflows';
import { WORKFLOW_BUNDLE } from '../support/env';

/**
 * Replays histories recorded from real runs (scripts/record-history.ts) against the current
 * workflow code, bundled once by the jest global set-up. A change that would make a running
 * workflow take a different path (reordered activities, a changed timer) fails here. For an
 * auto-upgrade type, make it with `patched()` (see README, "Changing a workflow safely"). For a
 * pinned type (processEvent) open runs never meet new code, so either patch (their runs can then
 * still be moved to the new build) or re-record the fixture from the new code, saying so in the
 * commit. Histories recorded open (`record-history --open`, e.g. mid-wait) replay as far as they
 * go: the commands recorded so far are checked. The retired `fanOut`
 * shape's fixtures stay until that shape is removed: its children share the definitions' steps.
 */
const fixtures: HistoryFixture[] = readdirSync(FIXTURES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(FIXTURES_DIR, f), 'utf8')) as HistoryFixture);

const replayOptions = { workflowBundle: { codePath: WORKFLOW_BUNDLE }, replayName: 'replay-test' };

describe('replay of recorded histories against the current workflow code', () => {
  it('has a recorded history for every workflow type the worker registers (the retired fan-out shape included)', () => {
    const types = Object.entries(registered)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name)
      .sort();
    expect(types).toContain('processEvent');
    const recorded = new Set(fixtures.map((f) => f.workflowType));
    expect(types.filter((t) => !recorded.has(t))).toEqual([]);
  });

  it('has open histories too (recorded while the workflow ran), of processEvent among them', () => {
    expect(fixtures.filter((f) => f.open).map((f) => f.workflowType)).toContain('processEvent');
  });

  it.each(fixtures.map((f) => [`${f.workflowType} ${f.workflowId}${f.open ? ' (open)' : ''}`, f] as const))(
    'replays %s deterministically',
    async (_name, fixture) => {
      await expect(
        Worker.runReplayHistory(replayOptions, fixtureHistory(fixture), fixture.workflowId),
      ).resolves.toBeUndefined();
    },
  );

  it('catches a divergence: fanOut replayed under another workflow ID would start differently named children', async () => {
    const fanout = fixtures.find((f) => f.workflowType === 'fanOut')!;
    await expect(
      Worker.runReplayHistory(
        replayOptions,
        fixtureHistory(fanout),
        'entity_event.transaction:eev_0000000000000000',
      ),
    ).rejects.toThrow(/[Nn]ondetermin/);
  });

  it('replays all fixtures in one replay worker', async () => {
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      replayOptions,
      fixtures.map((f) => ({ workflowId: f.workflowId, history: fixtureHistory(f) })),
    )) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
