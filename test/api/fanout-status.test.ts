import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import pino from 'pino';
import { createApp } from '../../api/app';
import { createApiMetrics } from '../../api/metrics';
import { RateLimiter } from '../../api/middleware/rate-limit';
import { EventWriter, eventGroups } from '../../core/domain/event-writer';
import { startRedriveAlone } from '../../core/fanout/redrive-guard';
import { startFanout } from '../../core/fanout/temporal-start';
import { PiiCipher } from '../../core/security/pii';
import {
  REDRIVE_WORKFLOW,
  redriveWorkflowId,
  type RedriveCriteria,
  type RedriveInput,
} from '../../workflows/redrive-types';
import { api, P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStallProxy, type StallProxy } from '../support/stall-proxy';
import { testEnv } from '../support/env';
import {
  definitionRun,
  eventually,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

const deposit = { type: 'deposit', amount: 50, currency: 'GBP' };

/**
 * GET /events/:eventId/fanout against a real worker: the sandbox KYC provider decides each
 * check by the player's name (`invalid…` is refused, `flaky…` answers 503 twice first).
 */
describe('GET /events/:eventId/fanout: each definition’s outcome, read from Temporal', () => {
  let h: WorkflowHarness;
  let op: Awaited<ReturnType<typeof operatorWithWebhook>>;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    h = await startWorkflowHarness();
    // Test mode: without a provider connection its KYC goes to the local sandbox (live: not configured).
    op = await operatorWithWebhook(h, [], { mode: 'test' });
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await h?.close();
  });

  const fanout = (id: string, client = op.client) => client.get(`${P}/events/${id}/fanout`);
  const definition = (body: any, name: string) =>
    body.data.outcomes.definitions.find((d: { definition: string }) => d.definition === name);

  it('reports every definition of a completed event as completed', async () => {
    await newPlayer(op.client, 'ok_1');
    const ev = await recordEvent(op.client, 'ok_1', 'transaction', deposit);
    await waitForResult(h.stack, ev.fanoutId);

    const res = await fanout(ev.id);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      eventId: ev.id,
      workflowId: ev.fanoutId,
      state: 'started',
      outcomes: { available: true, workflowStatus: 'completed' },
    });
    const defs = res.body.data.outcomes.definitions;
    expect(defs.map((d: { definition: string }) => d.definition)).toContain('kyc-on-deposit');
    for (const d of defs) expect(d).toEqual({ definition: d.definition, status: 'completed', redrives: [] });
  });

  it('names the reason a definition failed: the message and the error type', async () => {
    await newPlayer(op.client, 'invalid_1');
    const ev = await recordEvent(op.client, 'invalid_1', 'transaction', deposit);
    expect(await definitionRun(h.stack, ev.fanoutId, 'kyc-on-deposit')).toMatchObject({ status: 'failed' });

    const res = await fanout(ev.id);
    expect(res.body.data.outcomes.workflowStatus).toBe('completed');
    expect(definition(res.body, 'kyc-on-deposit')).toEqual({
      definition: 'kyc-on-deposit',
      status: 'failed',
      error: { message: expect.stringMatching(/^KYC provider answered 422/), type: 'KycRequestRejected' },
      redrives: [],
    });
    expect(definition(res.body, 'aml-threshold')).toMatchObject({ status: 'completed' });
  });

  it('shows a definition whose activity is retrying as running, with its attempt and last error', async () => {
    await newPlayer(op.client, 'flaky_1');
    const ev = await recordEvent(op.client, 'flaky_1', 'transaction', deposit);
    // The provider answers 503 to the first two attempts (1 s, then 2 s apart): caught while retrying.
    const body = await eventually(async () => {
      const res = await fanout(ev.id);
      const kyc = definition(res.body, 'kyc-on-deposit');
      return kyc?.status === 'running' && kyc.attempt >= 2 ? res.body : undefined;
    }, 30_000);
    expect(body.data.outcomes.workflowStatus).toBe('running');
    // The other branches of the same running workflow have finished meanwhile.
    expect(definition(body, 'aml-threshold')).toMatchObject({ status: 'completed' });
    expect(definition(body, 'kyc-on-deposit')).toMatchObject({
      status: 'running',
      activity: 'requestProviderCheck',
      lastError: { message: expect.stringMatching(/503/), type: 'KycProviderUnavailable' },
      nextAttemptAt: expect.stringMatching(/^\d{4}-/),
    });
    await waitForResult(h.stack, ev.fanoutId);
    expect(definition((await fanout(ev.id)).body, 'kyc-on-deposit')).toMatchObject({ status: 'completed' });
  });

  it('lists the re-drives that re-ran a definition for the event, and how they ended', async () => {
    const other = await operatorWithWebhook(h, [], { mode: 'test' });
    await newPlayer(other.client, 'rd_1');
    const since = new Date(Date.now() - 1000).toISOString();
    const ev = await recordEvent(other.client, 'rd_1', 'transaction', deposit);
    await waitForResult(h.stack, ev.fanoutId);
    const range = { definition: 'kyc-on-deposit', operatorId: other.operatorId, since };
    const redrive = (id: string, mode: RedriveCriteria['mode']) => runRedrive(id, { ...range, mode });
    await redrive('st_all', 'redrive');
    // Covers the event too, but selects nothing (kyc-on-deposit did not fail): no re-run to show.
    await redrive('st_failed', 'redrive-failed');

    const res = await fanout(ev.id, other.client);
    expect(definition(res.body, 'kyc-on-deposit')).toEqual({
      definition: 'kyc-on-deposit',
      status: 'completed',
      redrives: [
        {
          definition: 'kyc-on-deposit',
          redriveId: 'st_all',
          mode: 'redrive',
          workflowId: `redrive:st_all:${ev.id}`,
          status: 'completed',
        },
      ],
    });
    expect(definition(res.body, 'aml-threshold')).toMatchObject({ redrives: [] });
  });

  it('shows a definition only a backfill ran as not_planned, with the backfill', async () => {
    const other = await operatorWithWebhook(h, [], { mode: 'test' });
    await newPlayer(other.client, 'bf_1');
    const since = new Date(Date.now() - 1000).toISOString();
    // An event "recorded before aml-threshold existed": its workflow ran an empty plan.
    const data = { type: 'deposit', amount: 5000, currency: 'EUR' };
    const { rows } = await h.stack.db.pool.query<{ id: string; created_at: Date }>(
      `insert into events (id, operator_id, external_id, event_type, data)
       values ('eev_' || substr(md5(random()::text), 1, 16), $1, 'bf_1', 'transaction', $2)
       returning id, created_at`,
      [other.operatorId, data],
    );
    const id = rows[0]!.id;
    await startFanout(h.stack.temporal, h.stack.taskQueue, {
      workflow_id: `entity_event.transaction:${id}`,
      payload: {
        internalEvent: 'entity_event.transaction',
        operatorId: other.operatorId,
        externalId: 'bf_1',
        eventId: id,
        eventType: 'transaction',
        data,
        occurredAt: rows[0]!.created_at.toISOString(),
      },
      search_attributes: { OperatorId: [other.operatorId] },
      definitions: [],
      attempts: 0,
    });
    await waitForResult(h.stack, `entity_event.transaction:${id}`);
    await runRedrive('st_backfill', {
      mode: 'backfill',
      definition: 'aml-threshold',
      operatorId: other.operatorId,
      since,
    });

    const res = await fanout(id, other.client);
    expect(res.body.data.outcomes).toEqual({
      available: true,
      workflowStatus: 'completed',
      definitions: [
        {
          definition: 'aml-threshold',
          status: 'not_planned',
          redrives: [
            {
              definition: 'aml-threshold',
              redriveId: 'st_backfill',
              mode: 'backfill',
              workflowId: `redrive:st_backfill:${id}`,
              status: 'completed',
            },
          ],
        },
      ],
    });
  });

  it("answers 404 for another operator's event, telling nothing of it", async () => {
    await newPlayer(op.client, 'ok_2');
    const ev = await recordEvent(op.client, 'ok_2', 'transaction', deposit);
    await waitForResult(h.stack, ev.fanoutId);
    const stranger = await newOperator(h.stack.db.pool, h.stack.baseUrl);

    const res = await fanout(ev.id, stranger.client);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      success: false,
      error: { code: 'NOT_FOUND', message: `No event ${ev.id}` },
    });
    expect(JSON.stringify(res.body)).not.toContain('kyc');
  });

  it('still answers started from Postgres when Temporal stops answering, saying outcomes are unavailable', async () => {
    await newPlayer(op.client, 'ok_3');
    const ev = await recordEvent(op.client, 'ok_3', 'transaction', deposit);
    await waitForResult(h.stack, ev.fanoutId);
    const baseUrl = await apiBehindStalledTemporal();

    const startedAt = Date.now();
    const res = await fanout(ev.id, api(baseUrl, op.apiKey));
    const ms = Date.now() - startedAt;
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      eventId: ev.id,
      workflowId: ev.fanoutId,
      state: 'started',
      outcomes: { available: false, reason: expect.stringMatching(/Temporal did not answer within 3000 ms/) },
    });
    // The deadline is 3 s; the rest is margin for a busy CI machine.
    expect(ms).toBeLessThan(8_000);
  });

  /** A re-drive as the CLI starts it (registered, then started), run to its end. */
  async function runRedrive(redriveId: string, c: Omit<RedriveCriteria, 'until'>) {
    const criteria: RedriveCriteria = { ...c, until: new Date().toISOString() };
    const input: RedriveInput = { ...criteria, redriveId, pageSize: 10, ratePerSecond: 100, pagesPerRun: 5 };
    const workflowId = redriveWorkflowId(redriveId);
    const started = await startRedriveAlone(h.stack.db.pool, h.stack.temporal, {
      criteria,
      redriveId,
      workflowId,
      start: () =>
        h.stack.temporal.workflow.start(REDRIVE_WORKFLOW, {
          taskQueue: h.stack.taskQueue,
          workflowId,
          args: [input],
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        }),
    });
    expect(started).toEqual({ kind: 'started' });
    await h.stack.temporal.workflow.getHandle(workflowId).result();
  }

  /** A second API over the same database, whose Temporal connection has gone silent. */
  async function apiBehindStalledTemporal(): Promise<string> {
    const proxy: StallProxy = await startStallProxy(testEnv().temporalAddress);
    closers.push(() => proxy.close());
    const connection = await Connection.connect({ address: proxy.address });
    closers.push(() => connection.close());
    proxy.stall();
    const log = pino({ level: 'silent' });
    const pool = h.stack.db.pool;
    const app = createApp({
      pool,
      temporal: new Client({ connection, namespace: testEnv().namespace }),
      log,
      metrics: createApiMetrics(),
      dispatcher: { dispatch: () => undefined, nudge: () => undefined },
      events: new EventWriter(pool, eventGroups(h.stack.config)),
      rateLimiter: new RateLimiter(pool, 0, log),
      pii: new PiiCipher(h.stack.config.PII_MASTER_KEY),
      authCacheTtlMs: 0,
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      return closed;
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
});
