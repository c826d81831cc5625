import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import {
  definitionResult,
  recordEvent,
  startWebhookReceiver,
  startWorkflowHarness,
  verifyStandardWebhook,
  waitForResult,
  type WebhookReceiver,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(90_000);

const GRACE_MS = 4_000;
const ACTIVITY_TASK_SCHEDULED = 10;

describe('deliveries to several webhook endpoints', () => {
  let h: WorkflowHarness;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    h = await startWorkflowHarness({
      config: { AML_THRESHOLD: '2000', WEBHOOK_SECRET_GRACE_MS: String(GRACE_MS) },
    });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await h?.close();
  });

  const receiver = async () => {
    const r = await startWebhookReceiver();
    receivers.push(r);
    return r;
  };
  type Operator = Awaited<ReturnType<typeof newOperator>>;
  const addEndpoint = async (op: Operator, body: Record<string, unknown>) => {
    const res = await op.client.post(`${P}/webhooks/endpoints`, body);
    if (res.status !== 201) throw new Error(`endpoint: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.data as { id: string; secret: string };
  };
  const scheduledActivities = async (workflowId: string) =>
    ((await h.stack.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [])
      .filter((e) => e.eventType === ACTIVITY_TASK_SCHEDULED)
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);

  it('forwards an event to every enabled endpoint whose filter matches, each signed with its own secret, one webhook-id', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const [a, b, c, d] = [await receiver(), await receiver(), await receiver(), await receiver()];
    const family = await addEndpoint(op, { url: a.url, events: ['entity_event.*'] });
    const exact = await addEndpoint(op, { url: b.url, events: ['entity_event.session'] });
    await addEndpoint(op, { url: c.url, events: ['entity_state.*'] });
    await addEndpoint(op, { url: d.url, events: ['*'], enabled: false });
    await newPlayer(op.client, 'multi_1');
    const ev = await recordEvent(op.client, 'multi_1', 'session', { action: 'login' });

    const result = await definitionResult(h.stack, ev.fanoutId, 'operator-webhook');
    // Every delivery has finished when the definition has: nothing more can arrive.
    const [toA, toB] = [a.requests, b.requests];
    expect([toA.length, toB.length, c.requests.length, d.requests.length]).toEqual([1, 1, 0, 0]);
    expect(toA[0]!.headers['webhook-id']).toBe(result.messageId);
    expect(toB[0]!.headers['webhook-id']).toBe(result.messageId);
    expect(toA[0]!.rawBody).toBe(toB[0]!.rawBody);
    expect(verifyStandardWebhook(family.secret, toA[0]!)).toBe(true);
    expect(verifyStandardWebhook(exact.secret, toA[0]!)).toBe(false);
    expect(verifyStandardWebhook(exact.secret, toB[0]!)).toBe(true);
    expect(await scheduledActivities(ev.fanoutId)).toEqual([
      'webhookTargets',
      'deliverWebhookMessage',
      'deliverWebhookMessage',
    ]);
  });

  it('sends an alert to every enabled endpoint, whatever its filter', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const [a, b, off] = [await receiver(), await receiver(), await receiver()];
    await addEndpoint(op, { url: a.url, events: [] });
    await addEndpoint(op, { url: b.url, events: ['entity_state.*'] });
    await addEndpoint(op, { url: off.url, enabled: false });
    await newPlayer(op.client, 'multi_2');
    const ev = await recordEvent(op.client, 'multi_2', 'transaction', {
      type: 'deposit',
      amount: 5000,
      currency: 'EUR',
    });
    expect(await definitionResult(h.stack, ev.fanoutId, 'aml-threshold')).toMatchObject({ flagged: true });
    const isAlert = (r: { body: { type: string } }) => r.body.type === 'alert.aml_threshold';
    await a.waitFor(isAlert);
    await b.waitFor(isAlert);
    await waitForResult(h.stack, ev.fanoutId);
    expect(off.requests).toHaveLength(0);
  });

  it('retries each endpoint on its own: a failing one is retried, the healthy one gets one request', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const [flaky, healthy] = [await receiver(), await receiver()];
    flaky.answer = (n) => (n === 1 ? 503 : 200);
    await addEndpoint(op, { url: flaky.url, events: ['entity_event.*'] });
    await addEndpoint(op, { url: healthy.url, events: ['entity_event.*'] });
    await newPlayer(op.client, 'multi_3');
    const ev = await recordEvent(op.client, 'multi_3', 'session', { action: 'login' });
    await definitionResult(h.stack, ev.fanoutId, 'operator-webhook');
    expect(flaky.requests.map((r) => r.answered)).toEqual([503, 200]);
    expect(healthy.requests.map((r) => r.answered)).toEqual([200]);
    expect(flaky.requests[1]!.headers['webhook-id']).toBe(flaky.requests[0]!.headers['webhook-id']);
  });

  it('plans no forwarding when the only subscribing endpoint is disabled, and forwards again once it is enabled', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const r = await receiver();
    const { id } = await addEndpoint(op, { url: r.url, events: ['entity_event.*'], enabled: false });
    await newPlayer(op.client, 'multi_4');
    const quiet = await recordEvent(op.client, 'multi_4', 'session', { action: 'login' });
    expect(await waitForResult(h.stack, quiet.fanoutId)).toMatchObject({ matched: 0, runs: [] });

    await op.client.patch(`${P}/webhooks/endpoints/${id}`, { enabled: true });
    const heard = await recordEvent(op.client, 'multi_4', 'session', { action: 'logout' });
    await definitionResult(h.stack, heard.fanoutId, 'operator-webhook');
    expect(r.requests.map((x) => x.body.data.eventId)).toEqual([heard.id]);
  });

  describe('secret rotation', () => {
    it('signs with the new and the old secret during the grace, then with the new one only', async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      const r = await receiver();
      const { id, secret: oldSecret } = await addEndpoint(op, { url: r.url, events: ['entity_event.*'] });
      await newPlayer(op.client, 'rotate_1');

      const rotated = await op.client.post(`${P}/webhooks/endpoints/${id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      const newSecret = rotated.body.data.secret as string;
      expect(newSecret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      expect(newSecret).not.toBe(oldSecret);
      const rotatedAt = Date.now();
      expect(Date.parse(rotated.body.data.previousSecretExpiresAt) - rotatedAt).toBeGreaterThan(
        GRACE_MS - 1500,
      );
      expect((await op.client.get(`${P}/webhooks/endpoints/${id}`)).body.data.secret).toBe(
        `whsec_…${newSecret.slice(-4)}`,
      );

      const during = await recordEvent(op.client, 'rotate_1', 'session', { action: 'login' });
      await definitionResult(h.stack, during.fanoutId, 'operator-webhook');
      const [inGrace] = r.requests.filter((x) => x.body.data.eventId === during.id);
      expect(Date.now() - rotatedAt).toBeLessThan(GRACE_MS);
      expect(String(inGrace!.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(verifyStandardWebhook(newSecret, inGrace!)).toBe(true);
      expect(verifyStandardWebhook(oldSecret, inGrace!)).toBe(true);

      await new Promise((resolve) => setTimeout(resolve, rotatedAt + GRACE_MS + 200 - Date.now()));
      const after = await recordEvent(op.client, 'rotate_1', 'session', { action: 'logout' });
      await definitionResult(h.stack, after.fanoutId, 'operator-webhook');
      const [afterGrace] = r.requests.filter((x) => x.body.data.eventId === after.id);
      expect(String(afterGrace!.headers['webhook-signature']).split(' ')).toHaveLength(1);
      expect(verifyStandardWebhook(newSecret, afterGrace!)).toBe(true);
      expect(verifyStandardWebhook(oldSecret, afterGrace!)).toBe(false);
      expect(
        (await op.client.get(`${P}/webhooks/endpoints/${id}`)).body.data.previousSecretExpiresAt,
      ).toBeNull();
    });

    it('refuses to rotate a disabled endpoint with 400 VALIDATION_FAILED and keeps its secret', async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      const { id, secret } = await addEndpoint(op, { url: 'https://x.example.com/h', enabled: false });
      const res = await op.client.post(`${P}/webhooks/endpoints/${id}/rotate-secret`);
      expect([res.status, res.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect((await op.client.get(`${P}/webhooks/endpoints/${id}`)).body.data).toMatchObject({
        secret: `whsec_…${secret.slice(-4)}`,
        previousSecretExpiresAt: null,
      });
    });
  });
});
