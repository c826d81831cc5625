import pino from 'pino';
import { createApp } from '../../api/app';
import { createApiMetrics } from '../../api/metrics';
import { API_PREFIX, LEGACY_PREFIX } from '../../api/openapi';
import { PiiCipher } from '../../core/security/pii';
import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P, api, type Res } from '../support/http';
import { documentedRoutes, mountedRoutes, responseErrors, type OpenApiDocument } from '../support/openapi';
import { EventWriter, eventGroups } from '../../core/domain/event-writer';
import { providerSignatureHeaders } from '../../core/security/provider-signatures';

describe('the published OpenAPI document', () => {
  let stack: TestStack;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    stack = await startStack();
    const res = await api(stack.baseUrl).get('/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
  });
  afterAll(async () => {
    await stack?.close();
  });

  const app = () =>
    createApp({
      pool: stack.db.pool,
      temporal: stack.temporal,
      log: pino({ level: 'silent' }),
      metrics: createApiMetrics(),
      dispatcher: stack.dispatcher,
      events: new EventWriter(stack.db.pool, eventGroups(stack.config)),
      rateLimiter: stack.rateLimiter,
      pii: new PiiCipher(stack.config.PII_MASTER_KEY),
    });

  it('is OpenAPI 3.1 with bearer authentication', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components).toMatchObject({
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
    });
  });

  it('documents exactly the routes the router mounts, and the legacy prefix mounts the same ones', () => {
    const mounted = mountedRoutes(app(), API_PREFIX);
    expect(mounted.length).toBeGreaterThanOrEqual(17);
    expect(documentedRoutes(doc)).toEqual(mounted);
    const legacy = mountedRoutes(app(), LEGACY_PREFIX).map((r) => r.replace(LEGACY_PREFIX, API_PREFIX));
    expect(legacy).toEqual(mounted);
  });

  it('documents every route of the reference page', () => {
    const reference = [
      'GET /templates',
      'GET /settings',
      'PUT /settings',
      'POST /entities',
      'GET /entities/{externalId}',
      'DELETE /entities/{externalId}',
      'POST /entities/{externalId}/events',
      'GET /entities/{externalId}/events',
      'PUT /entities/{externalId}/state/{key}',
      'GET /entities/{externalId}/state',
      'GET /entities/{externalId}/state/{key}',
      'POST /batch/entities',
      'POST /batch/events',
      'POST /batch/states',
      'GET /batch/jobs/{jobId}',
    ].map((r) => r.replace(' ', ` ${API_PREFIX}`));
    expect(documentedRoutes(doc)).toEqual(expect.arrayContaining(reference));
  });

  it('gives every operation bearer security (but the one providers call, signed instead) and the error envelope as its default response', () => {
    const providerCalled = `post ${API_PREFIX}/providers/{provider}/webhooks/{connectionId}`;
    expect(doc.paths[`${API_PREFIX}/providers/{provider}/webhooks/{connectionId}`]).toBeDefined();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect({ route: `${method} ${path}`, security: op.security }).toEqual({
          route: `${method} ${path}`,
          security: `${method} ${path}` === providerCalled ? [] : [{ bearerAuth: [] }],
        });
        expect(op.responses.default?.content?.['application/json']?.schema).toEqual({
          $ref: '#/components/schemas/ErrorEnvelope',
        });
      }
    }
  });

  it('describes the live responses of the KYC provider routes', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const created = await op.client.post(`${P}/providers/connections`, { provider: 'sandbox' });
    const { id, webhookPath, webhookSecret } = created.body.data;
    const body = JSON.stringify({
      id: 'evt_openapi_1',
      type: 'check.completed',
      checkId: 'chk_1',
      applicantId: 'player_1',
      result: 'approved',
      createdAt: '2026-12-01T10:00:00.000Z',
    });
    const delivered = await fetch(stack.baseUrl + webhookPath, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...providerSignatureHeaders('sandbox', webhookSecret, body),
      },
      body,
    });
    const checks: Array<[string, string, Res]> = [
      ['POST', '/providers/connections', created],
      ['GET', '/providers/connections', await op.client.get(`${P}/providers/connections`)],
      ['GET', '/providers/connections/{id}', await op.client.get(`${P}/providers/connections/${id}`)],
      [
        'POST',
        '/providers/connections/{id}/rotate',
        await op.client.post(`${P}/providers/connections/${id}/rotate`, { generateWebhookSecret: true }),
      ],
      [
        'POST',
        '/providers/{provider}/webhooks/{connectionId}',
        { status: delivered.status, body: await delivered.json(), headers: delivered.headers },
      ],
      ['GET', '/providers/deliveries', await op.client.get(`${P}/providers/deliveries`)],
      [
        'POST',
        '/providers/{provider}/webhooks/{connectionId}',
        await api(stack.baseUrl).post(`${P}/providers/sandbox/webhooks/pcn_00000000000000aa`, {}),
      ],
      ['DELETE', '/providers/connections/{id}', await op.client.delete(`${P}/providers/connections/${id}`)],
    ];
    for (const [method, path, res] of checks) {
      expect(res.status).toBeLessThan(500);
      expect({
        call: `${method} ${path} → ${res.status}`,
        errors: responseErrors(doc, method, API_PREFIX + path, res.status, res.body),
      }).toEqual({ call: `${method} ${path} → ${res.status}`, errors: [] });
    }
    expect(checks.map(([, , r]) => r.status)).toEqual([201, 200, 200, 200, 200, 200, 404, 200]);
  });

  it('describes the live responses: each one validates against its documented schema, with no undocumented fields', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
    const calls: Array<[string, string, () => Promise<Res>]> = [
      ['GET', '/templates', () => op.client.get(`${P}/templates`)],
      ['GET', '/settings', () => op.client.get(`${P}/settings`)],
      [
        'PUT',
        '/settings',
        () =>
          op.client.put(`${P}/settings`, {
            retentionPolicy: { entity_events: { hot_days: 30, archive_days: 90 } },
          }),
      ],
      [
        'POST',
        '/entities',
        () =>
          op.client.post(`${P}/entities`, {
            entityType: 'player',
            externalId: 'p2',
            data: { email: 'p2@example.com' },
          }),
      ],
      ['GET', '/entities/{externalId}', () => op.client.get(`${P}/entities/player_1`)],
      [
        'POST',
        '/entities/{externalId}/events',
        () =>
          op.client.post(
            `${P}/entities/player_1/events`,
            { eventType: 'session', data: {} },
            { 'Idempotency-Key': 'k1' },
          ),
      ],
      [
        'POST',
        '/entities/{externalId}/events',
        () =>
          op.client.post(
            `${P}/entities/player_1/events`,
            { eventType: 'session', data: {} },
            { 'Idempotency-Key': 'k1' },
          ),
      ],
      ['GET', '/entities/{externalId}/events', () => op.client.get(`${P}/entities/player_1/events?limit=1`)],
      [
        'PUT',
        '/entities/{externalId}/state/{key}',
        () => op.client.put(`${P}/entities/player_1/state/balance`, { value: 5 }),
      ],
      [
        'GET',
        '/entities/{externalId}/state/{key}',
        () => op.client.get(`${P}/entities/player_1/state/balance`),
      ],
      ['GET', '/entities/{externalId}/state', () => op.client.get(`${P}/entities/player_1/state`)],
      [
        'POST',
        '/batch/events',
        () => op.client.post(`${P}/batch/events`, [{ externalId: 'nobody', eventType: 'session', data: {} }]),
      ],
      [
        'POST',
        '/batch/entities',
        () => op.client.post(`${P}/batch/entities`, [{ entityType: 'game', externalId: 'g1', data: {} }]),
      ],
      [
        'POST',
        '/batch/states',
        () => op.client.post(`${P}/batch/states`, [{ externalId: 'player_1', key: 'risk_score', value: 3 }]),
      ],
      [
        'POST',
        '/entities/{externalId}/events',
        () => op.client.post(`${P}/entities/player_1/events`, { eventType: 'transaction', data: {} }),
      ],
      ['GET', '/entities/{externalId}', () => op.client.get(`${P}/entities/nobody`)],
      ['DELETE', '/entities/{externalId}', () => op.client.delete(`${P}/entities/p2`)],
    ];
    for (const [method, path, call] of calls) {
      const res = await call();
      expect({
        call: `${method} ${path} → ${res.status}`,
        errors: responseErrors(doc, method, API_PREFIX + path, res.status, res.body),
      }).toEqual({
        call: `${method} ${path} → ${res.status}`,
        errors: [],
      });
    }
    const batch = await op.client.post(`${P}/batch/events`, [
      { externalId: 'player_1', eventType: 'session', data: {} },
    ]);
    const job = await op.client.get(`${P}/batch/jobs/${batch.body.data.jobId}`);
    expect(responseErrors(doc, 'GET', `${API_PREFIX}/batch/jobs/{jobId}`, job.status, job.body)).toEqual([]);
    const event = await op.client.post(`${P}/entities/player_1/events`, { eventType: 'session', data: {} });
    const workflowId = `entity_event.session:${event.body.data.id}`;
    const fanout = () => op.client.get(`${P}/events/${event.body.data.id}/fanout`);
    // Both states: started (once the immediate start is through), and pending (its row put back).
    for (let i = 0; (await fanout()).body.data?.state !== 'started'; i++) {
      if (i > 100) throw new Error('the fan-out never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    await stack.db.pool.query(
      `insert into fanout_outbox (workflow_id, operator_id, internal_event, payload, search_attributes, definitions, next_attempt_at)
       values ($1, $2, 'entity_event.session', '{}', '{}', '{}', now() + interval '1 hour')`,
      [workflowId, op.operatorId],
    );
    const pending = await fanout();
    await stack.db.pool.query('delete from fanout_outbox where workflow_id = $1', [workflowId]);
    expect(pending.body.data.state).toBe('pending');
    expect(responseErrors(doc, 'GET', `${API_PREFIX}/events/{eventId}/fanout`, 200, pending.body)).toEqual(
      [],
    );
    const later: Array<[string, string, number, () => Promise<Res>]> = [
      ['GET', '/events/{eventId}/fanout', 200, fanout],
      [
        'GET',
        '/events/{eventId}/fanout',
        404,
        () => op.client.get(`${P}/events/eev_0000000000000000/fanout`),
      ],
      ['GET', '/webhooks', 404, () => op.client.get(`${P}/webhooks`)],
      [
        'PUT',
        '/webhooks',
        200,
        () =>
          op.client.put(`${P}/webhooks`, { url: 'https://example.com/hooks', events: ['entity_event.*'] }),
      ],
      ['GET', '/webhooks', 200, () => op.client.get(`${P}/webhooks`)],
      ['PUT', '/webhooks', 400, () => op.client.put(`${P}/webhooks`, { url: 'ftp://example.com/hooks' })],
    ];
    for (const [method, path, status, call] of later) {
      const res = await call();
      expect({
        call: `${method} ${path} → ${res.status}`,
        errors: responseErrors(doc, method, API_PREFIX + path, res.status, res.body),
      }).toEqual({
        call: `${method} ${path} → ${status}`,
        errors: [],
      });
    }
  });

  it('catches an undocumented response field (the check above can fail)', () => {
    const body = { success: true, data: { id: 'eev_0123456789abcdef' }, debug: 'x' };
    expect(responseErrors(doc, 'POST', `${API_PREFIX}/entities/{externalId}/events`, 201, body)).not.toEqual(
      [],
    );
  });

  it('/docs serves the Swagger UI page and its assets', async () => {
    const client = api(stack.baseUrl);
    const page = await client.get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('<div id="ui"></div>');
    const init = await client.get('/docs/assets/init.js');
    expect(init.body).toContain("url: '/openapi.json'");
    const bundle = await fetch(`${stack.baseUrl}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });
});
