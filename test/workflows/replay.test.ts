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
 * auto-upgrade type, make it with `patched()` (see docs/authors/changing-safely.md). For a
 * pinned type (processEvent) open runs never meet new code, so either patch (their runs can then
 * still be moved to the new build) or re-record the fixture from the new code, saying so in the
 * commit. Histories recorded open (`record-history --open`, e.g. mid-wait) replay as far as they
 * go: the commands recorded so far are checked.
 */
const fixtures: HistoryFixture[] = readdirSync(FIXTURES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(path.join(FIXTURES_DIR, f), 'utf8')) as HistoryFixture);

const replayOptions = { workflowBundle: { codePath: WORKFLOW_BUNDLE }, replayName: 'replay-test' };

describe('replay of recorded histories against the current workflow code', () => {
  it('has a recorded history for every workflow type the worker registers, and none for a type it does not', () => {
    const types = Object.entries(registered)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name)
      .sort();
    expect(types).toContain('processEvent');
    const recorded = new Set(fixtures.map((f) => f.workflowType));
    expect(types.filter((t) => !recorded.has(t))).toEqual([]);
    expect([...recorded].filter((t) => !types.includes(t))).toEqual([]);
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

  it('catches a divergence: a deposit replayed with a plan of one definition schedules other activities', async () => {
    const deposit = fixtures.find((f) => f.workflowId.startsWith('entity_event.transaction:'))!;
    const history = fixtureHistory(deposit);
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const payload = started.input!.payloads![0]!;
    const input = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { definitions: string[] };
    expect(input.definitions.length).toBeGreaterThan(1);
    payload.data = Buffer.from(JSON.stringify({ ...input, definitions: [input.definitions.at(-1)] }));
    await expect(Worker.runReplayHistory(replayOptions, history, deposit.workflowId)).rejects.toThrow(
      /[Nn]ondetermin/,
    );
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
