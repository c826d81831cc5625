import { Writable } from 'node:stream';
import { createLogger } from '../../core/logger';
import { hashApiKey } from '../../core/security/api-keys';
import { providerSignatureHeaders } from '../../core/security/provider-signatures';
import { startKycSandbox, type KycSandbox } from '../../activities/kyc/sandbox-server';
import { serveMetrics } from '../../worker/metrics';
import { startStack, type TestStack } from '../support/stack';
import { newOperator } from '../support/operators';
import { P, api, type Res } from '../support/http';
import { eventually, startWebhookReceiver, type WebhookReceiver } from '../support/workflow-harness';

jest.setTimeout(90_000);

/** Distinctive values for every PII field of the player template, so a hit is unambiguous. */
const PII = {
  email: 'zl.logscan.ada@example.org',
  first_name: 'Zlogadafirst',
  last_name: 'Zlogadalast',
  phone: '+447700900555',
  date_of_birth: '1979-12-10',
};
const PROVIDER = {
  credentials: { appToken: 'sbx:zlogapptoken7731', secretKey: 'zlogsumsubsecretkey7731' },
  webhookSecret: 'zlogsumsubwebhooksecret7731',
};
const PII2 = { email: 'zl.batch.bob@example.org', first_name: 'Zlogbobfirst', phone: '+447700900556' };

/**
 * A realistic run with the API and the worker logging at debug level into one captured
 * stream (the worker's Temporal SDK lines included: workflow code's `log`, the SDK's own
 * workflow and activity lines, as worker/sdk-telemetry.ts routes them in production); then
 * every line is searched for credentials and PII.
 */
describe('logs of a full run', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  let stack: TestStack;
  let kyc: KycSandbox;
  let receiver: WebhookReceiver;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const workflowIds: string[] = [];

  beforeAll(async () => {
    kyc = await startKycSandbox();
    receiver = await startWebhookReceiver();
    stack = await startStack({
      worker: true,
      log: createLogger('debug', 'test', sink),
      // The 5,000 deposit would otherwise ask for source of funds and wait 30 days for a verdict.
      configOverrides: {
        KYC_PROVIDER_URL: kyc.url,
        HTTP_TIMEOUT_MS: '2000',
        SOURCE_OF_FUNDS_THRESHOLD: '1000000000',
      },
    });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    const c = op.client;
    const ok = (res: Res, status: number) => {
      if (res.status !== status) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
      return res;
    };
    ok(await c.put(`${P}/webhooks`, { url: receiver.url, events: ['entity.*', 'entity_event.*'] }), 200);
    ok(
      await c.post(`${P}/entities`, {
        entityType: 'player',
        externalId: 'p_log',
        data: { ...PII, country: 'GB' },
      }),
      201,
    );
    ok(
      await c.post(`${P}/entities`, {
        entityType: 'player',
        externalId: 'p_log',
        data: { ...PII, country: 'IE' },
      }),
      200,
    );
    ok(await c.get(`${P}/entities/p_log`), 200);
    const deposit = ok(
      await c.post(
        `${P}/entities/p_log/events`,
        { eventType: 'transaction', data: { type: 'deposit', amount: 5000, currency: 'GBP' } },
        { 'Idempotency-Key': 'dep-log-1' },
      ),
      201,
    );
    workflowIds.push(`entity_event.transaction:${deposit.body.data.id}`);
    ok(await c.post(`${P}/entities/p_log/events`, { eventType: 'session', data: { action: 'login' } }), 201);
    ok(await c.put(`${P}/entities/p_log/state/loyalty_tier`, { value: 'gold' }), 200);
    ok(
      await c.post(`${P}/batch/entities`, [{ entityType: 'player', externalId: 'p_log2', data: PII2 }]),
      200,
    );
    // Failing requests that carry PII or a key: a bad entity, a wrong key, malformed JSON.
    ok(
      await c.post(`${P}/entities`, {
        entityType: 'player',
        externalId: 'p_bad',
        data: { ...PII, country: 'gb' },
      }),
      400,
    );
    ok(await c.post(`${P}/entities`, `{"entityType":"player","data":{"email":"${PII.email}"`), 400);
    ok(await api(stack.baseUrl, op.apiKey.slice(0, -4) + 'ffff').get(`${P}/entities/p_log`), 401);
    // A KYC provider connection and its webhooks: one accepted, one with a wrong signature.
    // On an operator of its own: the deposit above would otherwise send its KYC check to this
    // Sumsub connection (no internet here: retried for hours), not to the local sandbox.
    const provider = await newOperator(stack.db.pool, stack.baseUrl, { name: 'provider-op' });
    const conn = ok(
      await provider.client.post(`${P}/providers/connections`, {
        provider: 'sumsub',
        credentials: PROVIDER.credentials,
        webhookSecret: PROVIDER.webhookSecret,
      }),
      201,
    ).body.data;
    const reviewed = JSON.stringify({
      type: 'applicantReviewed',
      applicantId: 'app_log',
      externalUserId: 'p_log',
      reviewResult: { reviewAnswer: 'GREEN' },
      createdAtMs: '2026-12-01 10:00:00.000',
    });
    for (const [secret, status] of [
      [PROVIDER.webhookSecret, 200],
      ['zl-not-the-webhook-secret', 401],
    ] as const) {
      const res = await fetch(stack.baseUrl + conn.webhookPath, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          ...providerSignatureHeaders('sumsub', secret, reviewed),
        },
        body: reviewed,
      });
      expect(res.status).toBe(status);
    }
    // Wait for the deposit's fan-out (KYC check, webhook) to finish, so the worker has logged.
    await eventually(async () => {
      const d = await stack.temporal.workflow
        .getHandle(workflowIds[0]!)
        .describe()
        .catch(() => undefined);
      return d?.status.name === 'COMPLETED' ? true : undefined;
    }, 60_000);
    ok(await c.delete(`${P}/entities/p_log`), 200);
    await stack.dispatcher.sweep();
    // The SDK's lines reach the logger after the fact (sinks run after the workflow's
    // activation completes): wait for the deposit workflow's last one.
    await eventually(
      async () =>
        lines.some((l) => l.includes('"msg":"Workflow completed"') && l.includes(workflowIds[0]!))
          ? true
          : undefined,
      10_000,
    );
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
    await kyc?.close();
  });

  it('captured the run: access lines of the API and lines of the worker', () => {
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(12);
    expect(lines.some((l) => l.includes('"msg":"activity completed"'))).toBe(true);
  });

  it("captured the worker's Temporal SDK lines too: workflow code's own log, and the SDK's workflow and activity lines", () => {
    const sdk = lines.map((l) => JSON.parse(l)).filter((l) => l.component === 'temporal-sdk');
    // workflows/process-event.ts logs 'event processed' from inside the workflow sandbox.
    expect(sdk.filter((l) => l.msg === 'event processed').map((l) => l.workflowId)).toContain(workflowIds[0]);
    expect(sdk.filter((l) => l.msg === 'Workflow completed').map((l) => l.workflowId)).toContain(
      workflowIds[0],
    );
    expect(
      sdk.filter((l) => l.msg === 'Activity completed').map((l) => `${l.workflowId} ${l.activityType}`),
    ).toContain(`${workflowIds[0]} requestProviderCheck`);
  });

  it('never contains the API key, a fragment of its secret part, or its hash', () => {
    const key = op.apiKey;
    const secret = key.slice(key.lastIndexOf('_') + 1);
    const hash = hashApiKey(key);
    const needles = [
      key,
      secret.slice(0, 24),
      secret.slice(-24),
      hash.toString('hex'),
      hash.toString('base64'),
    ];
    for (const needle of needles) expect(lines.filter((l) => l.includes(needle))).toEqual([]);
  });

  it("never contains a KYC provider connection's credentials or webhook secret", () => {
    for (const value of [...Object.values(PROVIDER.credentials), PROVIDER.webhookSecret])
      expect(lines.filter((l) => l.includes(value))).toEqual([]);
    // The deliveries were logged (by route pattern), so the scan above looked at them.
    expect(lines.filter((l) => l.includes('/providers/:provider/webhooks/:connectionId'))).toHaveLength(2);
  });

  it('never contains a PII value of any player, written, batched or refused', () => {
    for (const value of [...Object.values(PII), ...Object.values(PII2)]) {
      expect(lines.filter((l) => l.includes(value))).toEqual([]);
    }
  });

  it('stamps the request id on every request line and the workflow ID on dispatcher and activity lines', () => {
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    for (const l of requests) expect(l.requestId).toEqual(expect.any(String));
    const started = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'workflow started');
    expect(started.map((l) => l.workflowId)).toContain(workflowIds[0]);
    for (const l of started.filter((x) => x.path === 'immediate'))
      expect(l.requestId).toEqual(expect.any(String));
    const activities = lines.map((l) => JSON.parse(l)).filter((l) => /^activity /.test(l.msg));
    expect(activities.length).toBeGreaterThan(0);
    for (const l of activities) {
      expect(l.workflowId).toEqual(expect.any(String));
      expect(l.activityType).toEqual(expect.any(String));
    }
    expect(activities.some((l) => l.activityType === 'requestProviderCheck')).toBe(true);
  });

  it("counts activity outcomes by type on the worker's /metrics", async () => {
    const server = await serveMetrics(stack.workerMetrics, 0, '127.0.0.1');
    try {
      const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
      expect(text).toMatch(
        /activity_executions_total\{activity_type="requestProviderCheck",outcome="completed"\} 1\b/,
      );
      expect(text).toMatch(
        /activity_duration_seconds_count\{activity_type="requestProviderCheck",outcome="completed"\} 1\b/,
      );
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("exposes requests by route and status, events recorded and fan-out series on the API's /metrics", async () => {
    const text = await (await fetch(`${stack.baseUrl}/metrics`)).text();
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="[^"]+",method="POST",route="\/operator-data-api\/entities\/:externalId\/events",status="201"\}/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="[^"]+",status="401"\} 1\b/,
    );
    expect(text).toMatch(/events_recorded_total\{event_type="transaction"\} 1\b/);
    expect(text).toMatch(/fanout_backlog \d+/);
    expect(text).toMatch(/fanout_oldest_pending_seconds \d+/);
    expect(text).toMatch(/fanout_lag_seconds_count\{path="immediate"\} \d+/);
    expect(text).toContain('# TYPE fanout_workflow_start_failures_total counter');
  });
});
