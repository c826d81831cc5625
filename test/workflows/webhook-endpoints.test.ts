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
    // The endpoints were fixed when the event was recorded: no lookup, one delivery each.
    expect(await scheduledActivities(ev.fanoutId)).toEqual([
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

  it('throttles an endpoint to its rateLimitPerSecond: messages wait for the next second, each delivered once', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const r = await receiver();
    const { id } = await addEndpoint(op, { url: r.url, events: ['entity_event.*'], rateLimitPerSecond: 1 });
    await newPlayer(op.client, 'throttle_1');
    const events = await Promise.all(
      ['a', 'b', 'c'].map((action) => recordEvent(op.client, 'throttle_1', 'session', { action })),
    );
    for (const ev of events) await definitionResult(h.stack, ev.fanoutId, 'operator-webhook');
    const at = r.requests.map((x) => x.at).sort((x, y) => x - y);
    expect(r.requests.map((x) => x.answered)).toEqual([200, 200, 200]);
    // Three one-second windows at one message each: the first and the last at least a window apart.
    expect(at[2]! - at[0]!).toBeGreaterThan(900);
    const logged = (await op.client.get(`${P}/webhooks/messages?endpoint=${id}`)).body.data;
    expect(logged.map((m: { attempts: number }) => m.attempts)).toEqual([1, 1, 1]);
  });

  describe('delivery log', () => {
    it("lists each endpoint's message with its attempts: status codes, the next retry time, duration", async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      const [flaky, healthy] = [await receiver(), await receiver()];
      flaky.answer = (n) => (n === 1 ? 503 : 200);
      const f = await addEndpoint(op, { url: flaky.url, events: ['entity_event.*'] });
      const g = await addEndpoint(op, { url: healthy.url, events: ['entity_event.*'] });
      await newPlayer(op.client, 'log_1');
      const ev = await recordEvent(op.client, 'log_1', 'session', { action: 'login' });
      const { messageId } = await definitionResult(h.stack, ev.fanoutId, 'operator-webhook');

      const listed = await op.client.get(`${P}/webhooks/messages?endpoint=${f.id}`);
      expect(listed.status).toBe(200);
      expect(listed.body).toMatchObject({ success: true, count: 1, has_more: false, next_cursor: null });
      const [message] = listed.body.data;
      expect(message).toEqual({
        id: expect.stringMatching(/^wmsg_[0-9a-f]{16}$/),
        endpointId: f.id,
        webhookId: messageId,
        type: 'entity_event.session',
        status: 'delivered',
        attempts: 2,
        lastStatusCode: 200,
        nextAttemptAt: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const attempts = await op.client.get(`${P}/webhooks/messages/${message.id}/attempts`);
      expect(attempts.body.data).toEqual([
        {
          attempt: 1,
          statusCode: 503,
          durationMs: expect.any(Number),
          responseExcerpt: '',
          error: expect.stringContaining('503'),
          nextAttemptAt: expect.any(String),
          attemptedAt: expect.any(String),
        },
        {
          attempt: 2,
          statusCode: 200,
          durationMs: expect.any(Number),
          responseExcerpt: '',
          error: null,
          nextAttemptAt: null,
          attemptedAt: expect.any(String),
        },
      ]);
      const [first, second] = attempts.body.data;
      expect(Date.parse(first.nextAttemptAt)).toBeGreaterThan(Date.parse(first.attemptedAt));
      expect(Date.parse(second.attemptedAt)).toBeGreaterThanOrEqual(Date.parse(first.attemptedAt));

      const mine = await op.client.get(`${P}/webhooks/messages`);
      expect(mine.body.data.map((m: { endpointId: string }) => m.endpointId).sort()).toEqual(
        [f.id, g.id].sort(),
      );
      expect((await op.client.get(`${P}/webhooks/messages?status=pending`)).body.data).toEqual([]);

      const other = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      expect((await other.client.get(`${P}/webhooks/messages`)).body.data).toEqual([]);
      const foreign = await other.client.get(`${P}/webhooks/messages/${message.id}/attempts`);
      expect([foreign.status, foreign.body.error?.code]).toEqual([404, 'NOT_FOUND']);
      expect(JSON.stringify(foreign.body)).not.toContain('503');
    });

    it('pages newest first by cursor, without overlap, and refuses a forged cursor', async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      const r = await receiver();
      await addEndpoint(op, { url: r.url, events: ['entity_event.*'] });
      await newPlayer(op.client, 'log_2');
      const ids: string[] = [];
      for (const action of ['a', 'b', 'c']) {
        const ev = await recordEvent(op.client, 'log_2', 'session', { action });
        ids.push((await definitionResult(h.stack, ev.fanoutId, 'operator-webhook')).messageId);
      }
      const page1 = await op.client.get(`${P}/webhooks/messages?limit=2`);
      expect(page1.body).toMatchObject({ count: 2, has_more: true, next_cursor: expect.any(String) });
      const page2 = await op.client.get(`${P}/webhooks/messages?limit=2&cursor=${page1.body.next_cursor}`);
      expect(page2.body).toMatchObject({ count: 1, has_more: false, next_cursor: null });
      const seen = [...page1.body.data, ...page2.body.data].map((m: { webhookId: string }) => m.webhookId);
      expect(seen).toEqual([...ids].reverse());
      const future = new Date(Date.now() + 60_000).toISOString();
      expect((await op.client.get(`${P}/webhooks/messages?since=${future}`)).body.data).toEqual([]);
      const forged = await op.client.get(`${P}/webhooks/messages?cursor=bm9wZQ`);
      expect([forged.status, forged.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    });

    it('is pruned by the retention workflow after WEBHOOK_LOG_RETENTION_DAYS (30)', async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      const r = await receiver();
      await addEndpoint(op, { url: r.url, events: ['entity_event.*'] });
      await newPlayer(op.client, 'log_3');
      for (const action of ['old', 'new']) {
        const ev = await recordEvent(op.client, 'log_3', 'session', { action });
        await definitionResult(h.stack, ev.fanoutId, 'operator-webhook');
      }
      const [newest, oldest] = (await op.client.get(`${P}/webhooks/messages`)).body.data;
      await h.stack.db.pool.query(
        `update webhook_messages set created_at = now() - interval '31 days' where id = $1`,
        [oldest.id],
      );
      const result = (await h.stack.temporal.workflow.execute('applyRetention', {
        taskQueue: h.stack.taskQueue,
        workflowId: `retention-webhook-log-${op.operatorId}`,
        args: [{}],
      })) as { webhookMessagesDeleted?: number };
      expect(result.webhookMessagesDeleted).toBe(1);
      expect(
        (await op.client.get(`${P}/webhooks/messages`)).body.data.map((m: { id: string }) => m.id),
      ).toEqual([newest.id]);
      const gone = await op.client.get(`${P}/webhooks/messages/${oldest.id}/attempts`);
      expect(gone.status).toBe(404);
      const { rows } = await h.stack.db.pool.query('select 1 from webhook_attempts where message_row = $1', [
        oldest.id,
      ]);
      expect(rows).toEqual([]);
    });
  });

  describe('resend', () => {
    it('delivers a logged message again with the same webhook-id and body, durably, joining a resend that still runs', async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      const r = await receiver();
      const { id: endpointId, secret } = await addEndpoint(op, { url: r.url, events: ['entity_event.*'] });
      await newPlayer(op.client, 'resend_1');
      const ev = await recordEvent(op.client, 'resend_1', 'session', { action: 'login' });
      await definitionResult(h.stack, ev.fanoutId, 'operator-webhook');
      const [logged] = (await op.client.get(`${P}/webhooks/messages`)).body.data;
      expect(r.requests).toHaveLength(1);

      // The resend's first attempt fails, so it is still running when it is asked for again.
      r.answer = (n) => (n === 2 ? 503 : 200);
      const first = await op.client.post(`${P}/webhooks/messages/${logged.id}/resend`);
      const again = await op.client.post(`${P}/webhooks/messages/${logged.id}/resend`);
      expect(first.status).toBe(202);
      expect(first.body.data).toEqual({
        id: logged.id,
        workflowId: `webhook-resend:${logged.id}`,
        runId: expect.any(String),
      });
      expect(again.body.data.runId).toBe(first.body.data.runId);
      await h.stack.temporal.workflow.getHandle(first.body.data.workflowId).result();

      expect(r.requests.map((x) => x.answered)).toEqual([200, 503, 200]);
      for (const x of r.requests) {
        expect(x.headers['webhook-id']).toBe(logged.webhookId);
        expect(x.rawBody).toBe(r.requests[0]!.rawBody);
        expect(verifyStandardWebhook(secret, x)).toBe(true);
      }
      const attempts = (await op.client.get(`${P}/webhooks/messages/${logged.id}/attempts`)).body.data;
      expect(attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([200, 503, 200]);
      expect(
        (await op.client.get(`${P}/webhooks/messages?endpoint=${endpointId}`)).body.data[0],
      ).toMatchObject({
        id: logged.id,
        status: 'delivered',
        attempts: 3,
      });

      // Once finished, asking again is a new resend.
      const later = await op.client.post(`${P}/webhooks/messages/${logged.id}/resend`);
      expect(later.body.data.runId).not.toBe(first.body.data.runId);
      await h.stack.temporal.workflow.getHandle(later.body.data.workflowId).result();
      expect(r.requests).toHaveLength(4);
    });

    it("answers 404 for another operator's message and 400 when the endpoint is disabled, sending nothing", async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      const r = await receiver();
      const { id: endpointId } = await addEndpoint(op, { url: r.url, events: ['entity_event.*'] });
      await newPlayer(op.client, 'resend_2');
      const ev = await recordEvent(op.client, 'resend_2', 'session', { action: 'login' });
      await definitionResult(h.stack, ev.fanoutId, 'operator-webhook');
      const [logged] = (await op.client.get(`${P}/webhooks/messages`)).body.data;

      const other = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      const foreign = await other.client.post(`${P}/webhooks/messages/${logged.id}/resend`);
      expect([foreign.status, foreign.body.error?.code]).toEqual([404, 'NOT_FOUND']);
      await op.client.patch(`${P}/webhooks/endpoints/${endpointId}`, { enabled: false });
      const disabled = await op.client.post(`${P}/webhooks/messages/${logged.id}/resend`);
      expect([disabled.status, disabled.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(r.requests).toHaveLength(1);
    });
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
