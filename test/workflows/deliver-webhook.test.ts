import { newPlayer } from '../support/operators';
import {
  definitionRun,
  listWorkflowIds,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

describe('webhook delivery, endpoint down for longer than the retry window', () => {
  let h: WorkflowHarness;

  beforeAll(async () => {
    h = await startWorkflowHarness({
      config: {
        WEBHOOK_RETRY_INITIAL_MS: '300',
        WEBHOOK_RETRY_MAX_INTERVAL_MS: '1000',
        WEBHOOK_RETRY_WINDOW_MS: '1000',
      },
    });
    h.receiver.answer = () => 503;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gives up once the window has passed and fails the delivery visibly (WebhookDeliveryExhausted)', async () => {
    const op = await operatorWithWebhook(h, ['entity_event.*']);
    await newPlayer(op.client, 'hook_down');
    const ev = await recordEvent(op.client, 'hook_down', 'session', {});
    const deliveryId = `${ev.fanoutId}/operator-webhook/webhook`;

    const run = await definitionRun(h.stack, ev.fanoutId, 'operator-webhook');
    expect(run).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^gave up after \d+ attempts; last: .*503/),
    });
    const failure = { message: run.error };
    // Ops staff find it without opening the history: the failed definition is a search attribute.
    expect(
      await listWorkflowIds(
        h.stack,
        `FailedDefinitions = 'operator-webhook' AND OperatorId = '${op.operatorId}'`,
      ),
    ).toEqual([ev.fanoutId]);
    const attempts = h.receiver.requests.filter((r) => r.body.data.eventId === ev.id);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(failure.message ?? '').toContain(`after ${attempts.length} attempts`);
    expect(new Set(attempts.map((a) => a.headers['webhook-id']))).toEqual(new Set([deliveryId]));
  });
});
