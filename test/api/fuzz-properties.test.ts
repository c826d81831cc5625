import fc from 'fast-check';
import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P, type Res } from '../support/http';

/**
 * Property-based checks of the HTTP edge: whatever a client sends, the answer is never a 5xx,
 * every refusal is the error envelope, and a refused request stores nothing.
 */
describe('arbitrary input at the HTTP edge', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const RUNS = { numRuns: 100 };

  beforeAll(async () => {
    stack = await startStack({ relay: false, immediateStarts: false });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const count = async (table: 'events' | 'entities' | 'entity_states' | 'idempotency_keys') =>
    (
      await stack.db.pool.query<{ n: number }>(
        `select count(*)::int as n from ${table} where operator_id = $1`,
        [op.operatorId],
      )
    ).rows[0]!.n;

  /** A 4xx is the envelope with one of our codes; nothing is a 5xx. */
  function expectNoServerError(res: Res): void {
    expect(res.status).toBeLessThan(500);
    if (res.status >= 400) {
      expect(res.body).toEqual({
        success: false,
        error: expect.objectContaining({
          code: expect.stringMatching(/^[A-Z_]+$/),
          message: expect.any(String),
        }),
      });
    }
  }

  /**
   * Runs `send`, then checks that an acceptance added exactly one row and anything else
   * (a refusal, an update, an idempotent replay) left the table as it was. Returns the answer.
   */
  async function storesOnlyWhenAccepted(
    table: 'events' | 'entities' | 'entity_states',
    send: () => Promise<Res>,
    accepted: (r: Res) => boolean,
  ): Promise<Res> {
    const before = await count(table);
    const res = await send();
    expectNoServerError(res);
    const after = await count(table);
    expect({ status: res.status, added: after - before }).toEqual({
      status: res.status,
      added: accepted(res) ? 1 : 0,
    });
    return res;
  }

  const anyJson = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record(
      {
        eventType: fc.oneof(fc.string(), fc.constantFrom('transaction', 'session', 'bonus')),
        data: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    ),
  );

  it('POST /entities/:id/events with any JSON body: never 5xx, stores only on 201', async () => {
    await fc.assert(
      fc.asyncProperty(anyJson, async (body) => {
        await storesOnlyWhenAccepted(
          'events',
          () => op.client.post(`${P}/entities/player_1/events`, JSON.stringify(body)),
          (r) => r.status === 201,
        );
      }),
      RUNS,
    );
  });

  it('POST /entities with any JSON body: never 5xx, stores only on 201', async () => {
    const entityish = fc.record(
      {
        entityType: fc.oneof(fc.string(), fc.constant('player')),
        externalId: fc.string({ unit: 'binary', maxLength: 300 }),
        data: fc.jsonValue({ maxDepth: 3 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 4 }), entityish), async (body) => {
        await storesOnlyWhenAccepted(
          'entities',
          () => op.client.post(`${P}/entities`, JSON.stringify(body)),
          (r) => r.status === 201,
        );
      }),
      RUNS,
    );
  });

  it('any externalId in the path (any Unicode, percent-encoded): never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }), async (externalId) => {
        const path = `${P}/entities/${encodeURIComponent(externalId)}`;
        expectNoServerError(await op.client.get(path));
        expectNoServerError(await op.client.get(`${path}/events`));
        expectNoServerError(await op.client.get(`${path}/state`));
        await storesOnlyWhenAccepted(
          'events',
          () => op.client.post(`${path}/events`, { eventType: 'session', data: {} }),
          (r) => r.status === 201,
        );
      }),
      { numRuns: 100 },
    );
  });

  it('any eventType: never 5xx, and 201 only for a type of the template', async () => {
    const types = ['transaction', 'game_activity', 'session', 'bonus', 'block', 'support', 'affiliate'];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom(...types)),
        async (eventType) => {
          const res = await op.client.post(`${P}/entities/player_1/events`, { eventType, data: {} });
          expectNoServerError(res);
          if (res.status === 201)
            expect(['session', 'bonus', 'block', 'support', 'affiliate']).toContain(eventType);
        },
      ),
      RUNS,
    );
  });

  it('any query string on GET /entities/:id/events: never 5xx', async () => {
    const key = fc.constantFrom('type', 'limit', 'offset', 'cursor', 'since', 'until', 'x');
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.integer().map(String),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 5 }), async (pairs) => {
        const qs = new URLSearchParams(pairs).toString();
        const res = await op.client.get(`${P}/entities/player_1/events?${qs}`);
        expectNoServerError(res);
        if (res.status === 200) expect(res.body.success).toBe(true);
      }),
      RUNS,
    );
  });

  it('any Idempotency-Key a client can send: never 5xx; a key outside printable ASCII is refused and stores nothing', async () => {
    // fetch refuses header values outside Latin-1, DEL and CR/LF itself; bad-input.test.ts sends those raw.
    const headerValue = fc
      .string({
        unit: fc
          .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
          .map((c) => String.fromCharCode(c)),
        minLength: 1,
        maxLength: 300,
      })
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    await fc.assert(
      fc.asyncProperty(headerValue, async (key) => {
        const printable = /^[\x21-\x7e]{1,255}$/.test(key);
        const keysBefore = await count('idempotency_keys');
        // 201 records the event; 200 is a replay of a key an earlier run sent (nothing new).
        const res = await storesOnlyWhenAccepted(
          'events',
          () =>
            op.client.post(
              `${P}/entities/player_1/events`,
              { eventType: 'support', data: { ticket_id: key.slice(0, 20) } },
              { 'Idempotency-Key': key },
            ),
          (r) => r.status === 201,
        );
        if (printable) {
          expect([200, 201]).toContain(res.status);
          if (res.status === 200) expect(res.body.data.action).toBe('duplicate');
          expect(await count('idempotency_keys')).toBe(keysBefore + (res.status === 201 ? 1 : 0));
        } else {
          expect({ key, status: res.status, code: res.body.error?.code }).toEqual({
            key,
            status: 400,
            code: 'VALIDATION_FAILED',
          });
          expect(await count('idempotency_keys')).toBe(keysBefore);
        }
      }),
      RUNS,
    );
  });
});
