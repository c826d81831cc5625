import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import {
  definitionRun,
  recordEvent,
  startWebhookReceiver,
  startWorkflowHarness,
  verifyStandardWebhook,
  type WebhookReceiver,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

const ACTIVITY_TASK_COMPLETED = 12;
const ACTIVITY_TASK_FAILED = 13;

/** A receiver that accepts every request only after `delayMs`: its delivery is still running. */
async function slowReceiver(delayMs: number) {
  const received: number[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(Date.now());
      setTimeout(() => res.writeHead(200).end(), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('an endpoint down for longer than the retry window', () => {
  let h: WorkflowHarness;
  let down: WebhookReceiver;
  let up: Awaited<ReturnType<typeof slowReceiver>>;
  beforeAll(async () => {
    h = await startWorkflowHarness({
      config: {
        WEBHOOK_RETRY_INITIAL_MS: '200',
        WEBHOOK_RETRY_MAX_INTERVAL_MS: '400',
        // Long enough for a second attempt when the first one is slow on a loaded machine.
        WEBHOOK_RETRY_WINDOW_MS: '1000',
        HTTP_TIMEOUT_MS: '5000',
      },
    });
    [down, up] = [await startWebhookReceiver(), await slowReceiver(4_000)];
  });
  afterAll(async () => {
    await Promise.all([down?.close(), up?.close()]);
    await h?.close();
  });

  it("fails that endpoint's delivery alone (the other one is delivered), logs it as failed, and resend brings it back once the endpoint is up", async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    down.answer = () => 500;
    const dead = (
      await op.client.post(`${P}/webhooks/endpoints`, { url: down.url, events: ['entity_event.*'] })
    ).body.data;
    const live = (
      await op.client.post(`${P}/webhooks/endpoints`, { url: up.url, events: ['entity_event.*'] })
    ).body.data;
    await newPlayer(op.client, 'down_1');
    // The healthy endpoint answers after 4 s, long after the dead endpoint's delivery gave up:
    // that failure must not end the workflow (and abandon this delivery) before it is done.
    const ev = await recordEvent(op.client, 'down_1', 'session', { action: 'login' });

    const run = await definitionRun(h.stack, ev.fanoutId, 'operator-webhook');
    expect(run).toMatchObject({ status: 'failed', errorType: 'WebhookDeliveryExhausted' });
    expect(up.received).toHaveLength(1);
    expect(down.requests.length).toBeGreaterThanOrEqual(2);
    const history = await h.stack.temporal.workflow.getHandle(ev.fanoutId).fetchHistory();
    const outcomes = (history.events ?? [])
      .map((e) => e.eventType)
      .filter((t) => t === ACTIVITY_TASK_COMPLETED || t === ACTIVITY_TASK_FAILED);
    // The dead endpoint's delivery failed, then the slow one completed (endpoints planned at recording: no lookup).
    expect(outcomes).toEqual([ACTIVITY_TASK_FAILED, ACTIVITY_TASK_COMPLETED]);
    expect(down.requests.every((r) => r.answered === 500)).toBe(true);

    const log = async (endpoint: string) =>
      (await op.client.get(`${P}/webhooks/messages?endpoint=${endpoint}`)).body.data[0];
    const failed = await log(dead.id);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: down.requests.length,
      lastStatusCode: 500,
      nextAttemptAt: null,
    });
    expect(await log(live.id)).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(
      (await op.client.get(`${P}/webhooks/messages?status=failed`)).body.data.map(
        (m: { id: string }) => m.id,
      ),
    ).toEqual([failed.id]);

    down.answer = () => 200;
    const resend = await op.client.post(`${P}/webhooks/messages/${failed.id}/resend`);
    expect(resend.status).toBe(202);
    await h.stack.temporal.workflow.getHandle(resend.body.data.workflowId).result();
    const last = down.requests[down.requests.length - 1]!;
    expect(last.answered).toBe(200);
    expect(last.body.data.eventId).toBe(ev.id);
    expect(verifyStandardWebhook(dead.secret, last)).toBe(true);
    expect(await log(dead.id)).toMatchObject({ status: 'delivered', lastStatusCode: 200 });
  });

  it('recover redelivers every failed message since a time, oldest first, and stops at one that fails again', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const r = await startWebhookReceiver();
    try {
      r.answer = () => 500;
      const ep = (await op.client.post(`${P}/webhooks/endpoints`, { url: r.url, events: ['entity_event.*'] }))
        .body.data;
      await newPlayer(op.client, 'recover_1');
      const since = new Date(Date.now() - 1000).toISOString();
      const events = [];
      for (const action of ['a', 'b', 'c']) {
        const ev = await recordEvent(op.client, 'recover_1', 'session', { action });
        await definitionRun(h.stack, ev.fanoutId, 'operator-webhook');
        events.push(ev);
      }
      const failed = (await op.client.get(`${P}/webhooks/messages?status=failed&endpoint=${ep.id}`)).body
        .data;
      expect(failed).toHaveLength(3);

      // Still down: the first redelivery fails and the recovery stops there.
      const stuck = await op.client.post(`${P}/webhooks/endpoints/${ep.id}/recover`, { since });
      expect(stuck.status).toBe(202);
      expect(await h.stack.temporal.workflow.getHandle(stuck.body.data.workflowId).result()).toEqual({
        recovered: 0,
        stoppedAt: failed[failed.length - 1].id,
      });

      r.answer = () => 200;
      const before = r.requests.length;
      const run = await op.client.post(`${P}/webhooks/endpoints/${ep.id}/recover`, { since });
      expect(run.body.data).toMatchObject({ id: ep.id, workflowId: `webhook-recover:${ep.id}` });
      expect(await h.stack.temporal.workflow.getHandle(run.body.data.workflowId).result()).toEqual({
        recovered: 3,
      });
      const redelivered = r.requests.slice(before);
      expect(redelivered.map((x) => x.body.data.eventId)).toEqual(events.map((e) => e.id));
      for (const x of redelivered) expect(verifyStandardWebhook(ep.secret, x)).toBe(true);
      expect(
        (await op.client.get(`${P}/webhooks/messages?status=failed&endpoint=${ep.id}`)).body.data,
      ).toEqual([]);
      expect(
        (await op.client.get(`${P}/webhooks/messages?status=delivered&endpoint=${ep.id}`)).body.data,
      ).toHaveLength(3);
    } finally {
      await r.close();
    }
  });

  it('refuses recover with since in the future or beyond the log retention, for a disabled endpoint (400) and for another operator (404), starting nothing', async () => {
    const op = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    const ep = (await op.client.post(`${P}/webhooks/endpoints`, { url: 'https://x.example.com/h' })).body
      .data;
    const recover = (o: typeof op, since: string) =>
      o.client.post(`${P}/webhooks/endpoints/${ep.id}/recover`, { since });
    const expectCode = (
      res: { status: number; body: { error?: { code: string } } },
      status: number,
      code: string,
    ) => expect([res.status, res.body.error?.code]).toEqual([status, code]);

    expectCode(await recover(op, new Date(Date.now() + 3_600_000).toISOString()), 400, 'VALIDATION_FAILED');
    expectCode(
      await recover(op, new Date(Date.now() - 31 * 86_400_000).toISOString()),
      400,
      'VALIDATION_FAILED',
    );
    expectCode(await recover(op, 'yesterday'), 400, 'VALIDATION_FAILED');
    const other = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    expectCode(await recover(other, new Date().toISOString()), 404, 'NOT_FOUND');
    await op.client.patch(`${P}/webhooks/endpoints/${ep.id}`, { enabled: false });
    expectCode(await recover(op, new Date().toISOString()), 400, 'VALIDATION_FAILED');
    await expect(
      h.stack.temporal.workflow.getHandle(`webhook-recover:${ep.id}`).describe(),
    ).rejects.toMatchObject({
      name: 'WorkflowNotFoundError',
    });
  });

  describe('auto-disable', () => {
    let ah: WorkflowHarness;
    beforeAll(async () => {
      ah = await startWorkflowHarness({
        config: {
          WEBHOOK_RETRY_INITIAL_MS: '100',
          WEBHOOK_RETRY_MAX_INTERVAL_MS: '100',
          WEBHOOK_RETRY_WINDOW_MS: '150',
          WEBHOOK_AUTO_DISABLE_AFTER_MS: '1500',
        },
      });
    });
    afterAll(async () => {
      await ah?.close();
    });

    it('disables an endpoint whose every delivery failed for the period, tells the other endpoints, and keeps one that succeeded in between', async () => {
      const op = await newOperator(ah.stack.db.pool, ah.stack.baseUrl);
      const [dead, flaky, other] = [
        await startWebhookReceiver(),
        await startWebhookReceiver(),
        await startWebhookReceiver(),
      ];
      try {
        dead.answer = () => 500;
        const add = async (url: string) =>
          (await op.client.post(`${P}/webhooks/endpoints`, { url, events: ['entity_event.*'] })).body.data;
        const deadEp = await add(dead.url);
        const flakyEp = await add(flaky.url);
        const otherEp = await add(other.url);
        await newPlayer(op.client, 'auto_1');
        const send = async (action: string) => {
          const ev = await recordEvent(op.client, 'auto_1', 'session', { action });
          await definitionRun(ah.stack, ev.fanoutId, 'operator-webhook');
        };
        // flaky fails the first and the last message for good, and delivers the one between: it
        // has not been failing for the whole period, so it stays enabled.
        flaky.answer = (_n, body) =>
          ['first', 'last'].includes(String((body.data.data as { action?: string } | undefined)?.action))
            ? 500
            : 200;
        await send('first');
        const endpoint = async (id: string) =>
          (await op.client.get(`${P}/webhooks/endpoints/${id}`)).body.data;
        expect(await endpoint(deadEp.id)).toMatchObject({ enabled: true, disabledReason: null });

        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await send('middle'); // flaky delivers: no longer failing
        await new Promise((resolve) => setTimeout(resolve, 700));
        await send('last'); // dead has now failed for longer than the period

        expect(await endpoint(deadEp.id)).toMatchObject({ enabled: false, disabledReason: 'failing' });
        expect(await endpoint(flakyEp.id)).toMatchObject({ enabled: true, disabledReason: null });
        const notice = await other.waitFor((r) => r.body.type === 'endpoint.disabled');
        expect(notice[0]!.body.data).toMatchObject({
          endpointId: deadEp.id,
          url: dead.url,
          reason: 'failing',
        });
        expect(verifyStandardWebhook(otherEp.secret, notice[0]!)).toBe(true);
        await flaky.waitFor((r) => r.body.type === 'endpoint.disabled');
        expect(dead.requests.some((r) => r.body.type === 'endpoint.disabled')).toBe(false);

        // Disabled: the next event is not sent to it; enabling it again starts over.
        const before = dead.requests.length;
        await send('after');
        expect(dead.requests.length).toBe(before);
        const enabled = await op.client.patch(`${P}/webhooks/endpoints/${deadEp.id}`, { enabled: true });
        expect(enabled.body.data).toMatchObject({ enabled: true, disabledReason: null });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(other.requests.filter((r) => r.body.type === 'endpoint.disabled')).toHaveLength(1);
      } finally {
        await Promise.all([dead.close(), flaky.close(), other.close()]);
      }
    });
  });
});
