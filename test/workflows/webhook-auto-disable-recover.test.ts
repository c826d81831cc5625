import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import {
  definitionRun,
  recordEvent,
  startWebhookReceiver,
  startWorkflowHarness,
  verifyStandardWebhook,
  waitForResult,
  type WebhookReceiver,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(90_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('messages for an automatically disabled endpoint', () => {
  let h: WorkflowHarness;
  let r: WebhookReceiver;
  beforeAll(async () => {
    h = await startWorkflowHarness({
      config: {
        WEBHOOK_RETRY_INITIAL_MS: '100',
        WEBHOOK_RETRY_MAX_INTERVAL_MS: '100',
        WEBHOOK_RETRY_WINDOW_MS: '150',
        WEBHOOK_AUTO_DISABLE_AFTER_MS: '1500',
      },
    });
    r = await startWebhookReceiver();
  });
  afterAll(async () => {
    await r?.close();
    await h?.close();
  });

  it('are logged as failed with the reason, sending nothing, and recover delivers each exactly once after the endpoint is enabled again', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    r.answer = () => 500;
    const ep = (await op.client.post(`${P}/webhooks/endpoints`, { url: r.url, events: ['entity_event.*'] }))
      .body.data as { id: string; secret: string };
    await newPlayer(op.client, 'autorec_1');
    const since = new Date(Date.now() - 1000).toISOString();
    const send = async (action: string) => {
      const ev = await recordEvent(op.client, 'autorec_1', 'session', { action });
      return { ev, run: await definitionRun(h.stack, ev.fanoutId, 'operator-webhook') };
    };
    const endpoint = async () => (await op.client.get(`${P}/webhooks/endpoints/${ep.id}`)).body.data;

    const first = await send('first');
    expect(first.run).toMatchObject({ status: 'failed', errorType: 'WebhookDeliveryExhausted' });
    await sleep(1_600);
    const second = await send('second'); // failing for longer than the period: disabled
    expect(await endpoint()).toMatchObject({ enabled: false, disabledReason: 'failing' });

    const tried = r.requests.length;
    const later = [await send('after_1'), await send('after_2')];
    for (const l of later) expect(l.run).toMatchObject({ status: 'completed' });
    expect(r.requests.length).toBe(tried);

    const failed = (await op.client.get(`${P}/webhooks/messages?endpoint=${ep.id}&status=failed`)).body
      .data as Array<{ id: string; webhookId: string; attempts: number }>;
    expect(failed).toHaveLength(4);
    const keptRow = failed.find((m) => m.webhookId.startsWith(later[0]!.ev.fanoutId))!;
    const attempts = (await op.client.get(`${P}/webhooks/messages/${keptRow.id}/attempts`)).body.data;
    expect(attempts).toEqual([
      expect.objectContaining({
        statusCode: null,
        error: expect.stringMatching(/^not sent: the endpoint was disabled automatically/),
      }),
    ]);

    r.answer = () => 200;
    const enabled = await op.client.patch(`${P}/webhooks/endpoints/${ep.id}`, { enabled: true });
    expect(enabled.body.data).toMatchObject({ enabled: true, disabledReason: null });
    const recover = await op.client.post(`${P}/webhooks/endpoints/${ep.id}/recover`, { since });
    expect(recover.status).toBe(202);
    expect(await waitForResult(h.stack, recover.body.data.workflowId)).toEqual({ recovered: 4 });

    await sleep(500); // nothing else arrives later (no retry left running)
    const delivered = r.requests.filter((x) => x.answered === 200);
    const events = [first, second, ...later].map((s) => s.ev.id);
    expect(delivered.map((x) => x.body.data.eventId)).toEqual(events); // oldest first, once each
    for (const x of delivered) expect(verifyStandardWebhook(ep.secret, x)).toBe(true);
    expect((await op.client.get(`${P}/webhooks/messages?endpoint=${ep.id}&status=failed`)).body.data).toEqual(
      [],
    );
  });

  it('are neither sent nor kept once the operator disables the endpoint by hand', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const ep = (await op.client.post(`${P}/webhooks/endpoints`, { url: r.url, events: ['entity_event.*'] }))
      .body.data as { id: string };
    await op.client.patch(`${P}/webhooks/endpoints/${ep.id}`, { enabled: false });
    await newPlayer(op.client, 'autorec_2');
    const before = r.requests.length;
    const ev = await recordEvent(op.client, 'autorec_2', 'session', { action: 'login' });
    expect(await waitForResult(h.stack, ev.fanoutId)).toMatchObject({ matched: 0, runs: [] });
    expect((await op.client.get(`${P}/webhooks/messages?endpoint=${ep.id}`)).body.data).toEqual([]);
    expect(r.requests.length).toBe(before);
  });
});
