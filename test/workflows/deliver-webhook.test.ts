import { newPlayer } from '../support/operators';
import {
  eventually,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

describe('deliverWebhook, endpoint down for longer than the retry window', () => {
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

    const failure = await eventually(() =>
      h.stack.temporal.workflow
        .getHandle(deliveryId)
        .result()
        .then(
          () => ({ type: 'completed', message: undefined }),
          (err: { name?: string; cause?: { type?: string; message?: string } }) =>
            err.name === 'WorkflowNotFoundError'
              ? undefined
              : { type: err.cause?.type, message: err.cause?.message },
        ),
    );
    expect(failure).toEqual({
      type: 'WebhookDeliveryExhausted',
      message: expect.stringMatching(/^gave up after \d+ attempts; last: .*503/),
    });
    const attempts = h.receiver.requests.filter((r) => r.body.data.eventId === ev.id);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(failure.message ?? '').toContain(`after ${attempts.length} attempts`);
    expect(new Set(attempts.map((a) => a.headers['webhook-id']))).toEqual(new Set([deliveryId]));
  });
});
