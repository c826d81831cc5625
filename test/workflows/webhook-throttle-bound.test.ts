import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import {
  definitionRun,
  recordEvent,
  startWorkflowHarness,
  verifyStandardWebhook,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

const WINDOW_MS = 4_000;
const MESSAGES = 10;

describe('a throttled message', () => {
  let h: WorkflowHarness;
  beforeAll(async () => {
    h = await startWorkflowHarness({ config: { WEBHOOK_RETRY_WINDOW_MS: String(WINDOW_MS) } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gives up at the end of the retry window, logged as failed without counting against the endpoint, and recover delivers it exactly once', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const r = h.receiver;
    const ep = (
      await op.client.post(`${P}/webhooks/endpoints`, {
        url: r.url,
        events: ['entity_event.*'],
        rateLimitPerSecond: 1,
      })
    ).body.data as { id: string; secret: string };
    await newPlayer(op.client, 'throttled_1');
    const since = new Date(Date.now() - 1000).toISOString();
    // More messages at once than one a second can deliver within the window.
    const events = await Promise.all(
      Array.from({ length: MESSAGES }, (_, i) => recordEvent(op.client, 'throttled_1', 'session', { i })),
    );
    const runs = await Promise.all(
      events.map((ev) => definitionRun(h.stack, ev.fanoutId, 'operator-webhook')),
    );
    const gaveUp = runs.filter((run) => run.status === 'failed');
    expect(gaveUp.length).toBeGreaterThan(0);
    expect(gaveUp[0]).toMatchObject({ errorType: 'WebhookDeliveryExhausted' });
    expect(r.requests).toHaveLength(MESSAGES - gaveUp.length);

    const failed = (await op.client.get(`${P}/webhooks/messages?endpoint=${ep.id}&status=failed`)).body
      .data as Array<{ id: string }>;
    expect(failed).toHaveLength(gaveUp.length);
    const attempts = (await op.client.get(`${P}/webhooks/messages/${failed[0]!.id}/attempts`)).body.data;
    expect(attempts).toEqual([
      expect.objectContaining({
        statusCode: null,
        error: expect.stringMatching(/^throttled for the whole retry window/),
      }),
    ]);
    // The endpoint answered every request it got: it is not failing, only slow to take them.
    const { rows } = await h.stack.db.pool.query(
      'select enabled, failing_since from webhook_endpoints where id = $1',
      [ep.id],
    );
    expect(rows[0]).toEqual({ enabled: true, failing_since: null });

    const recover = await op.client.post(`${P}/webhooks/endpoints/${ep.id}/recover`, { since });
    expect(await waitForResult(h.stack, recover.body.data.workflowId, 60_000)).toEqual({
      recovered: gaveUp.length,
    });
    const perEvent = events.map((ev) => r.requests.filter((x) => x.body.data.eventId === ev.id).length);
    expect(perEvent).toEqual(events.map(() => 1));
    for (const x of r.requests) expect(verifyStandardWebhook(ep.secret, x)).toBe(true);
    expect((await op.client.get(`${P}/webhooks/messages?endpoint=${ep.id}&status=failed`)).body.data).toEqual(
      [],
    );
  });
});
