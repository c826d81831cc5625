import { startStack, type TestStack } from '../support/stack';
import { newOperator } from '../support/operators';
import { P } from '../support/http';
import { expectError } from '../support/expect';

const IGAMING = { id: 'tpl_igaming', name: 'iGaming', version: '1.0' };
const policy = {
  entity_events: { hot_days: 90, archive_days: 1825 },
  entity_states: { hot_days: 30, archive_days: 365 },
};

describe('templates and settings', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('GET /templates lists tpl_igaming v1.0 with the schema of the reference', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const res = await op.client.get(`${P}/templates`);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    const t = res.body.data.find((x: { id: string }) => x.id === 'tpl_igaming');
    expect(t).toMatchObject({ ...IGAMING, created_at: expect.stringMatching(/Z$/) });
    expect(Object.keys(t.schema).sort()).toEqual(['entity_types', 'event_types', 'pii_fields', 'state_keys']);
    expect(Object.keys(t.schema.entity_types)).toEqual(['player', 'operator', 'game']);
    expect(t.schema.entity_types.player.required).toEqual(['email']);
    expect(t.schema.entity_types.player.optional).toEqual(
      expect.arrayContaining([
        'first_name',
        'last_name',
        'phone',
        'date_of_birth',
        'country',
        'currency',
        'registration_date',
        'status',
        'vip_level',
      ]),
    );
    const required = Object.fromEntries(
      Object.entries(t.schema.event_types as Record<string, { required: string[] }>).map(([k, v]) => [
        k,
        v.required,
      ]),
    );
    expect(required).toEqual({
      transaction: ['type', 'amount', 'currency'],
      game_activity: ['game_id', 'bet_amount'],
      session: [],
      bonus: [],
      block: [],
      support: [],
      affiliate: [],
    });
    expect(t.schema.event_types.transaction.optional).toEqual(
      expect.arrayContaining(['method', 'provider', 'reference', 'card_last4']),
    );
    expect(t.schema.event_types.session.optional).toEqual(
      expect.arrayContaining(['action', 'ip_address', 'country', 'device', 'browser']),
    );
    expect(t.schema.state_keys).toEqual([
      'balance',
      'kyc_status',
      'risk_score',
      'loyalty_tier',
      'sof_status',
    ]);
    expect(t.schema.pii_fields).toEqual({
      player: ['first_name', 'last_name', 'email', 'phone', 'date_of_birth'],
    });
  });

  it('GET /settings answers nulls before anything is set', async () => {
    const bare = await newOperator(stack.db.pool, stack.baseUrl, { template: false });
    const res = await bare.client.get(`${P}/settings`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: { template: null, dataRetentionDays: null, retentionPolicy: null },
    });
  });

  it('PUT /settings with a templateId ends TEMPLATE_NOT_CONFIGURED for data calls', async () => {
    const bare = await newOperator(stack.db.pool, stack.baseUrl, { template: false });
    const entity = { entityType: 'player', externalId: 'p1', data: { email: 'p1@example.com' } };
    expectError(await bare.client.post(`${P}/entities`, entity), 400, 'TEMPLATE_NOT_CONFIGURED');
    const res = await bare.client.put(`${P}/settings`, { templateId: 'tpl_igaming' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: { template: IGAMING, dataRetentionDays: null, retentionPolicy: null },
    });
    expect((await bare.client.post(`${P}/entities`, entity)).status).toBe(201);
  });

  it('PUT /settings stores retention settings, and a later PUT keeps what it does not mention', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const set = await op.client.put(`${P}/settings`, { dataRetentionDays: 730, retentionPolicy: policy });
    expect(set.body).toEqual({
      success: true,
      data: { template: IGAMING, dataRetentionDays: 730, retentionPolicy: policy },
    });
    await op.client.put(`${P}/settings`, { dataRetentionDays: 365 });
    const got = await op.client.get(`${P}/settings`);
    expect(got.body).toEqual({
      success: true,
      data: { template: IGAMING, dataRetentionDays: 365, retentionPolicy: policy },
    });
  });

  it('accepts the retention bounds themselves: hot_days 30 and archive_days 1825', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const edge = { entity_events: { hot_days: 30, archive_days: 1825 } };
    expect(
      (await op.client.put(`${P}/settings`, { retentionPolicy: edge })).body.data.retentionPolicy,
    ).toEqual(edge);
  });

  it('400 VALIDATION_FAILED for hot_days below 30 or archive_days above 1825, changing nothing', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const hot = await op.client.put(`${P}/settings`, {
      retentionPolicy: { entity_events: { hot_days: 29, archive_days: 365 } },
    });
    expectError(hot, 400, 'VALIDATION_FAILED');
    expect(hot.body.error.details[0].field).toBe('retentionPolicy.entity_events.hot_days');
    const archive = await op.client.put(`${P}/settings`, {
      retentionPolicy: { entity_states: { hot_days: 30, archive_days: 1826 } },
    });
    expectError(archive, 400, 'VALIDATION_FAILED');
    expect(archive.body.error.details[0].field).toBe('retentionPolicy.entity_states.archive_days');
    expect((await op.client.get(`${P}/settings`)).body.data.retentionPolicy).toBeNull();
  });

  it('400 VALIDATION_FAILED for an unknown templateId, naming the available ones', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const res = await op.client.put(`${P}/settings`, { templateId: 'tpl_poker' });
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.message).toContain('tpl_igaming');
    expect((await op.client.get(`${P}/settings`)).body.data.template).toEqual(IGAMING);
  });

  it('400 VALIDATION_FAILED for unknown settings fields', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    expectError(await op.client.put(`${P}/settings`, { template: 'tpl_igaming' }), 400, 'VALIDATION_FAILED');
    expectError(
      await op.client.put(`${P}/settings`, {
        retentionPolicy: { entity_logs: { hot_days: 30, archive_days: 30 } },
      }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('settings changes apply to the operator that made them only', async () => {
    const a = await newOperator(stack.db.pool, stack.baseUrl);
    const b = await newOperator(stack.db.pool, stack.baseUrl);
    await a.client.put(`${P}/settings`, { dataRetentionDays: 100 });
    expect((await b.client.get(`${P}/settings`)).body.data.dataRetentionDays).toBeNull();
  });
});
