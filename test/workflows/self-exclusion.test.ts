import type { FanoutResult } from '../../workflows/types';
import { P } from '../support/http';
import { newPlayer } from '../support/operators';
import {
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  verifyStandardWebhook,
  definitionResult,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

describe('self-exclusion', () => {
  let h: WorkflowHarness;
  let op: Awaited<ReturnType<typeof operatorWithWebhook>>;

  beforeAll(async () => {
    h = await startWorkflowHarness();
    op = await operatorWithWebhook(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('marks the player self-excluded in risk_score and sends a critical alert at once', async () => {
    await newPlayer(op.client, 'excluded_1');
    const ev = await recordEvent(op.client, 'excluded_1', 'block', {
      type: 'self_exclusion',
      duration_days: 180,
      reason: 'player request',
    });

    expect(await definitionResult(h.stack, ev.fanoutId, 'self-exclusion')).toMatchObject({
      selfExcluded: true,
    });
    const risk = (await op.client.get(`${P}/entities/excluded_1/state/risk_score`)).body.data.value;
    expect(risk).toMatchObject({
      score: 100,
      level: 'high',
      self_excluded: true,
      flags: { self_exclusion: { eventId: ev.id, durationDays: 180, reason: 'player request' } },
    });
    const [alert] = await h.receiver.waitFor(
      (r) => r.body.type === 'alert.self_exclusion' && r.body.data.externalId === 'excluded_1',
    );
    expect(verifyStandardWebhook(op.webhookSecret, alert!)).toBe(true);
    expect(alert!.body.data).toMatchObject({
      severity: 'critical',
      eventId: ev.id,
      internalEvent: 'entity_event.block',
    });
  });

  it('treats a block event without a type as self-exclusion, and leaves other restrictions alone', async () => {
    await newPlayer(op.client, 'excluded_2');
    const untyped = await recordEvent(op.client, 'excluded_2', 'block', {});
    expect(await definitionResult(h.stack, untyped.fanoutId, 'self-exclusion')).toMatchObject({
      selfExcluded: true,
    });

    await newPlayer(op.client, 'restricted_1');
    const other = await recordEvent(op.client, 'restricted_1', 'block', { type: 'deposit_limit' });
    const fanout = await waitForResult<FanoutResult>(h.stack, other.fanoutId);
    expect(fanout.runs.map((r) => r.definition)).toEqual([]);
    expect((await op.client.get(`${P}/entities/restricted_1/state/risk_score`)).status).toBe(404);
  });
});
