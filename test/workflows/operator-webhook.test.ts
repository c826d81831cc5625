import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import {
  definitionResult,
  listWorkflowIds,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  verifyStandardWebhook,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** History event types (temporal.api.enums.v1.EventType) this file looks for. */
const EventType = {
  ACTIVITY_TASK_SCHEDULED: 10,
  ACTIVITY_TASK_STARTED: 11,
  ACTIVITY_TASK_FAILED: 13,
  TIMER_STARTED: 17,
} as const;

describe('operator webhooks', () => {
  let h: WorkflowHarness;

  beforeAll(async () => {
    h = await startWorkflowHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('PUT /webhooks and GET /webhooks', () => {
    it('stores the endpoint, shows the secret in full once, and masks it when read back', async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      expect((await op.client.get(`${P}/webhooks`)).body).toMatchObject({
        success: false,
        error: { code: 'NOT_FOUND' },
      });

      const put = await op.client.put(`${P}/webhooks`, {
        url: 'https://example.com/hooks',
        events: ['entity_event.*'],
      });
      expect(put.status).toBe(200);
      expect(put.body.data).toEqual({
        id: expect.stringMatching(/^wep_[0-9a-f]{16}$/),
        url: 'https://example.com/hooks',
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{32}$/),
        events: ['entity_event.*'],
      });

      const get = await op.client.get(`${P}/webhooks`);
      expect(get.body.data).toEqual({
        id: put.body.data.id,
        url: 'https://example.com/hooks',
        secret: `whsec_…${put.body.data.secret.slice(-4)}`,
        events: ['entity_event.*'],
      });
    });

    it('keeps a secret given in whsec_ form and refuses malformed ones, URLs and patterns with 400 VALIDATION_FAILED', async () => {
      const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
      expect(
        (await op.client.put(`${P}/webhooks`, { url: 'https://example.com/a', secret: SECRET })).body.data
          .secret,
      ).toBe(SECRET);
      for (const bad of [
        { url: 'ftp://example.com/a' },
        { url: 'https://example.com/a', secret: 'not-a-secret' },
        { url: 'https://example.com/a', secret: 'whsec_c2hvcnQ=' },
        { url: 'https://example.com/a', events: ['entity_event.*.x'] },
      ]) {
        const res = await op.client.put(`${P}/webhooks`, bad);
        expect([res.status, res.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
      }
      expect((await op.client.put(`${P}/webhooks`, {})).body.error.code).toBe('MISSING_FIELDS');
    });
  });

  it('forwards a subscribed event as a Standard Webhooks message a receiver can verify', async () => {
    const op = await operatorWithWebhook(h, ['entity_event.*']);
    await newPlayer(op.client, 'hook_1');
    const ev = await recordEvent(op.client, 'hook_1', 'session', { action: 'login', country: 'GB' });

    expect(await definitionResult(h.stack, ev.fanoutId, 'operator-webhook')).toEqual({
      forwarded: true,
      messageId: `${ev.fanoutId}/operator-webhook/webhook`,
    });
    const [hook] = await h.receiver.waitFor((r) => r.body.data.eventId === ev.id);
    expect(verifyStandardWebhook(op.webhookSecret, hook!)).toBe(true);
    expect(verifyStandardWebhook(SECRET, hook!)).toBe(false);
    expect(Math.abs(Number(hook!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(hook!.headers['webhook-id']).toBe(`${ev.fanoutId}/operator-webhook/webhook`);
    expect(hook!.body).toEqual({
      type: 'entity_event.session',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      data: {
        externalId: 'hook_1',
        eventId: ev.id,
        eventType: 'session',
        stateKey: null,
        data: { action: 'login', country: 'GB' },
      },
    });
  });

  it('plans no forwarding outside the filter (no workflow at all for entity.created here), nor for an operator without an endpoint', async () => {
    const op = await operatorWithWebhook(h, ['entity_event.*']);
    await newPlayer(op.client, 'hook_2');
    const ev = await recordEvent(op.client, 'hook_2', 'session', { action: 'login' });
    // Once the later event's workflow is listed, an earlier entity.created one would be too.
    await listWorkflowIds(h.stack, `WorkflowId = '${ev.fanoutId}'`);
    expect(
      await listWorkflowIds(
        h.stack,
        `OperatorId = '${op.operatorId}' AND InternalEvent = 'entity.created'`,
        0,
      ),
    ).toEqual([]);
    expect(await definitionResult(h.stack, ev.fanoutId, 'operator-webhook')).toMatchObject({
      forwarded: true,
    });

    const silent = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    await newPlayer(silent.client, 'hook_3');
    const quiet = await recordEvent(silent.client, 'hook_3', 'session', { action: 'login' });
    expect(await waitForResult(h.stack, quiet.fanoutId)).toMatchObject({ matched: 0, runs: [] });
    const description = await h.stack.temporal.workflow.getHandle(quiet.fanoutId).describe();
    expect(description.typedSearchAttributes.getAll().map((p) => p.key.name)).not.toContain('Definitions');
  });

  it('retries a failed delivery as an activity, with the same webhook-id, until the receiver accepts it', async () => {
    const op = await operatorWithWebhook(h, ['entity_event.support']);
    await newPlayer(op.client, 'hook_4');
    const answers = new Map<string, number>();
    h.receiver.answer = (_n, body) => {
      if (body.data.externalId !== 'hook_4') return 200;
      const eventId = String(body.data.eventId);
      const seen = (answers.get(eventId) ?? 0) + 1;
      answers.set(eventId, seen);
      return seen === 1 ? 500 : 200;
    };
    const ev = await recordEvent(op.client, 'hook_4', 'support', { ticket: 'T-1' });
    const deliveryId = `${ev.fanoutId}/operator-webhook/webhook`;

    expect(await definitionResult(h.stack, ev.fanoutId, 'operator-webhook')).toEqual({
      forwarded: true,
      messageId: deliveryId,
    });
    const attempts = h.receiver.requests.filter((r) => r.body.data.eventId === ev.id);
    expect(attempts.map((a) => a.answered)).toEqual([500, 200]);
    expect(attempts.map((a) => a.headers['webhook-id'])).toEqual([deliveryId, deliveryId]);
    expect(attempts[1]!.rawBody).toBe(attempts[0]!.rawBody);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(250);
    for (const a of attempts) expect(verifyStandardWebhook(op.webhookSecret, a)).toBe(true);

    // The retry is Temporal's retry of one activity, inside the event's one workflow: one
    // delivery scheduled (one endpoint), started for the last time as attempt 2, no timer, no child.
    const history = await h.stack.temporal.workflow.getHandle(ev.fanoutId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events
      .filter((e) => e.eventType === EventType.ACTIVITY_TASK_SCHEDULED)
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    // The endpoint was planned when the event was recorded: no lookup activity.
    expect(scheduled).toEqual(['deliverWebhookMessage']);
    expect(events.filter((e) => e.eventType === EventType.TIMER_STARTED)).toHaveLength(0);
    const delivery = events.find(
      (e) =>
        e.eventType === EventType.ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverWebhookMessage',
    );
    const started = events.find(
      (e) =>
        e.eventType === EventType.ACTIVITY_TASK_STARTED &&
        String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(delivery?.eventId),
    );
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBe(2);
  });
});
