import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { EVENT_ID, ISO_MS, expectError } from '../support/expect';

/** The brief's examples, sent as written (through the API), and its error table for events. */
describe('events: the brief, as written', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_12345');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const depositData = {
    type: 'deposit',
    amount: 100.0,
    currency: 'GBP',
    method: 'card',
    provider: 'stripe',
    reference: 'txn_abc123',
    card_last4: '4242',
  };
  const gameRoundData = {
    game_id: 'european-roulette',
    game_name: 'European Roulette',
    provider: 'evolution',
    bet_amount: 5.0,
    win_amount: 12.5,
    currency: 'GBP',
    round_id: 'round_xyz789',
  };
  const sessionData = {
    action: 'login',
    ip_address: '203.0.113.42',
    country: 'GB',
    device: 'mobile',
    browser: 'Safari 17',
  };
  const url = `${P}/entities/player_12345/events`;
  let depositId: string;

  it('Record a deposit (with Idempotency-Key): 201 { success: true, data: { id } }', async () => {
    const res = await op.client.post(
      url,
      { eventType: 'transaction', data: depositData },
      { 'Idempotency-Key': 'deposit-txn-abc123' },
    );
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ success: true, data: { id: expect.stringMatching(EVENT_ID) } });
    depositId = res.body.data.id;
  });

  it('Record a game round: 201 { success: true, data: { id } }', async () => {
    const res = await op.client.post(url, { eventType: 'game_activity', data: gameRoundData });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ success: true, data: { id: expect.stringMatching(EVENT_ID) } });
  });

  it('Record a session event: 201 { success: true, data: { id } }', async () => {
    const res = await op.client.post(url, { eventType: 'session', data: sessionData });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ success: true, data: { id: expect.stringMatching(EVENT_ID) } });
  });

  it('List events ?type=transaction&limit=10: the deposit only, as { success, data: [{ id, event_type, data, created_at }], count }', async () => {
    const res = await op.client.get(`${url}?type=transaction&limit=10`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: [
        {
          id: depositId,
          event_type: 'transaction',
          data: depositData,
          created_at: expect.stringMatching(ISO_MS),
        },
      ],
      count: 1,
      has_more: false,
      next_cursor: null,
    });
  });

  it('lists all events newest first, count being the rows of this page', async () => {
    const res = await op.client.get(url);
    expect(res.status).toBe(200);
    expect(res.body.data.map((e: { event_type: string }) => e.event_type)).toEqual([
      'session',
      'game_activity',
      'transaction',
    ]);
    expect(res.body.count).toBe(3);
    const times = res.body.data.map((e: { created_at: string }) => Date.parse(e.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(res.body.data[1]).toEqual({
      id: expect.stringMatching(EVENT_ID),
      event_type: 'game_activity',
      data: gameRoundData,
      created_at: expect.stringMatching(ISO_MS),
    });
  });

  it('breaks created_at ties by id, descending', async () => {
    await newPlayer(op.client, 'ties');
    const ids = ['eev_00000000000000aa', 'eev_00000000000000ff', 'eev_00000000000000cc'];
    await stack.db.pool.query(
      `insert into events (id, operator_id, external_id, event_type, data, created_at)
       select id, $1, 'ties', 'session', '{}', '2026-04-06T12:00:00.000Z' from unnest($2::text[]) as id`,
      [op.operatorId, ids],
    );
    const res = await op.client.get(`${P}/entities/ties/events`);
    expect(res.body.data.map((e: { id: string }) => e.id)).toEqual([
      'eev_00000000000000ff',
      'eev_00000000000000cc',
      'eev_00000000000000aa',
    ]);
    expect(res.body.data[0].created_at).toBe('2026-04-06T12:00:00.000Z');
  });

  it('answers the same under the legacy prefix /functions/v1/operator-data-api', async () => {
    const legacy = `/functions/v1/operator-data-api/entities/player_12345/events`;
    const created = await op.client.post(legacy, {
      eventType: 'bonus',
      data: { type: 'award', amount: 10, currency: 'GBP' },
    });
    expect(created.status).toBe(201);
    const listed = await op.client.get(`${legacy}?type=bonus`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([created.body.data.id]);
  });

  describe('error table', () => {
    it('400 MISSING_FIELDS when eventType is missing', async () => {
      const res = await op.client.post(url, { data: depositData });
      expectError(res, 400, 'MISSING_FIELDS');
      expect(res.body.error.message).toBe('Missing required field: eventType');
    });

    it('400 MISSING_FIELDS when data is missing', async () => {
      const res = await op.client.post(url, { eventType: 'session' });
      expectError(res, 400, 'MISSING_FIELDS');
      expect(res.body.error.message).toBe('Missing required field: data');
    });

    it('400 MISSING_FIELDS naming both when both are missing', async () => {
      const res = await op.client.post(url, {});
      expectError(res, 400, 'MISSING_FIELDS');
      expect(res.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
        'data',
        'eventType',
      ]);
    });

    it('400 VALIDATION_FAILED when data lacks a required field of the type', async () => {
      const res = await op.client.post(url, {
        eventType: 'transaction',
        data: { type: 'deposit', currency: 'GBP' },
      });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details).toEqual([{ field: 'data.amount', reason: 'is required' }]);
    });

    it('400 VALIDATION_FAILED for a dotted type such as transaction.deposit, listing the allowed types', async () => {
      const res = await op.client.post(url, {
        eventType: 'transaction.deposit',
        data: { amount: 100, currency: 'GBP' },
      });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.message).toContain(
        'Allowed types: transaction, game_activity, session, bonus, block, support, affiliate',
      );
      expect(res.body.error.message).toContain('"type": "deposit"');
    });

    it('400 VALIDATION_FAILED for an unknown type, listing the allowed types', async () => {
      const res = await op.client.post(url, { eventType: 'jackpot', data: {} });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.message).toContain(
        'Allowed types: transaction, game_activity, session, bonus, block, support, affiliate',
      );
    });

    it('400 VALIDATION_FAILED for a negative amount or a lower-case currency', async () => {
      const res = await op.client.post(url, {
        eventType: 'transaction',
        data: { type: 'deposit', amount: -5, currency: 'gbp' },
      });
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
        'data.amount',
        'data.currency',
      ]);
    });

    it('400 VALIDATION_FAILED (not 500) for text Postgres cannot store or absurd nesting', async () => {
      expectError(
        await op.client.post(url, { eventType: 'session', data: { note: 'a\u0000b' } }),
        400,
        'VALIDATION_FAILED',
      );
      expectError(
        await op.client.post(url, '{"eventType":"session","data":{"note":"\\ud800"}}'),
        400,
        'VALIDATION_FAILED',
      );
      const deep = `{"eventType":"session","data":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`;
      expectError(await op.client.post(url, deep), 400, 'VALIDATION_FAILED');
    });

    it('400 TEMPLATE_NOT_CONFIGURED before the operator has set a template', async () => {
      const bare = await newOperator(stack.db.pool, stack.baseUrl, { template: false });
      const res = await bare.client.post(url, { eventType: 'session', data: {} });
      expectError(res, 400, 'TEMPLATE_NOT_CONFIGURED');
      expect(res.body.error.message).toContain('PUT /settings');
      expectError(await bare.client.get(url), 400, 'TEMPLATE_NOT_CONFIGURED');
    });

    it('404 ENTITY_NOT_FOUND for an unknown externalId, recording or listing', async () => {
      const res = await op.client.post(`${P}/entities/player_404/events`, { eventType: 'session', data: {} });
      expectError(res, 404, 'ENTITY_NOT_FOUND');
      expect(res.body.error.message).toContain('player_404');
      expectError(await op.client.get(`${P}/entities/player_404/events`), 404, 'ENTITY_NOT_FOUND');
      const { rows } = await stack.db.pool.query(
        "select count(*)::int as n from events where external_id = 'player_404'",
      );
      expect(rows[0].n).toBe(0);
    });

    it('413 PAYLOAD_TOO_LARGE for data over 32 KB, and 201 at exactly 32 KB', async () => {
      const pad = (bytes: number) => ({ note: 'x'.repeat(bytes - '{"note":""}'.length) });
      expect(Buffer.byteLength(JSON.stringify(pad(32 * 1024)))).toBe(32 * 1024);
      expect((await op.client.post(url, { eventType: 'support', data: pad(32 * 1024) })).status).toBe(201);
      const res = await op.client.post(url, { eventType: 'support', data: pad(32 * 1024 + 1) });
      expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    });
  });
});
