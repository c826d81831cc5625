import { leaseDueStarts } from '../../core/db/outbox';
import { eventOutboxEntry } from '../../core/domain/events';
import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';

/**
 * With fan-out starts switched off, every outbox row a write queued stays in the table, so
 * batch writes can be compared row for row with the single-item writes they must mirror.
 */
describe('batch writes queue the same fan-out as single writes', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  let endpointId: string;
  beforeAll(async () => {
    stack = await startStack({ relay: false, immediateStarts: false });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    // Entity and state changes queue a workflow only when something wants them: here the
    // operator's endpoint subscribes to them (the URL is never called: starts are off).
    const hook = await op.client.put(`${P}/webhooks`, {
      url: 'https://example.com/hooks',
      events: ['entity.*', 'entity_state.*'],
    });
    expect(hook.status).toBe(200);
    endpointId = hook.body.data.id as string;
  });
  afterAll(async () => {
    await stack?.close();
  });

  interface OutboxRow {
    workflow_id: string;
    internal_event: string;
    payload: Record<string, unknown>;
    search_attributes: Record<string, string[]>;
    definitions: string[];
  }
  const outbox = async (where: string, params: unknown[]): Promise<OutboxRow[]> =>
    (
      await stack.db.pool.query<OutboxRow>(
        `select workflow_id, internal_event, payload, search_attributes, definitions from fanout_outbox where ${where} order by created_at, workflow_id`,
        params,
      )
    ).rows;
  /** A row with its per-write parts (ids, times, entity) replaced by placeholders. */
  const shape = (r: OutboxRow, externalId: string) =>
    JSON.parse(
      JSON.stringify(r)
        .replace(/eev_[0-9a-f]{16}/g, 'EVENT')
        .replace(/ien_[0-9a-f]{16}/g, 'FANOUT')
        .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME')
        .replaceAll(`"${externalId}"`, '"ENTITY"'),
    ) as unknown;

  it('events: one entity_event.<type> row per event, equal to what POST /entities/:id/events queues', async () => {
    await newPlayer(op.client, 'single');
    await newPlayer(op.client, 'batched');
    const data = { type: 'deposit', amount: 25.5, currency: 'EUR', method: 'card' };
    const single = await op.client.post(`${P}/entities/single/events`, { eventType: 'transaction', data });
    const batch = await op.client.post(`${P}/batch/events`, [
      { externalId: 'batched', eventType: 'transaction', data },
    ]);
    expect(batch.body.data.succeeded).toBe(1);
    const [s] = await outbox(
      `payload->>'externalId' = 'single' and internal_event like 'entity_event.%'`,
      [],
    );
    const [b] = await outbox(
      `payload->>'externalId' = 'batched' and internal_event like 'entity_event.%'`,
      [],
    );
    expect(s!.workflow_id).toBe(`entity_event.transaction:${single.body.data.id}`);
    expect(b!.workflow_id).toMatch(/^entity_event\.transaction:eev_[0-9a-f]{16}$/);
    expect(shape(b!, 'batched')).toEqual(shape(s!, 'single'));
    // What the immediate path starts (built in TS) is what the row holds (built in SQL), plus data.
    const entry = eventOutboxEntry(op.operatorId, single.body.data.id, {
      externalId: 'single',
      eventType: 'transaction',
      data,
    });
    const { data: _data, ...withoutData } = entry.payload;
    // Plus where its webhooks go, fixed in the same statement: alerts to the enabled endpoint,
    // nothing forwarded (the endpoint subscribes to entity.* and entity_state.* only).
    expect(s!.payload).toEqual({
      ...withoutData,
      occurredAt: expect.any(String),
      webhooks: { forward: [], alert: [endpointId] },
    });
    expect(s!.search_attributes).toEqual(entry.searchAttributes);
    // The plan: what code matched, without forwarding (entity_event.* is not subscribed).
    expect(b!.definitions).toEqual([
      'kyc-on-deposit',
      'aml-threshold',
      'affordability-check',
      'source-of-funds',
    ]);
    // occurredAt is the event's own created_at, as for single events.
    const { rows } = await stack.db.pool.query(
      `select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at from events where id = $1`,
      [b!.payload.eventId],
    );
    expect(b!.payload.occurredAt).toBe(rows[0].at);
    // Neither row repeats the event's data (it is in `events`); a relay's lease joins it back.
    expect(s!.payload).not.toHaveProperty('data');
    // As if the single event's immediate start had not happened and its grace period had passed.
    await stack.db.pool.query(
      'update fanout_outbox set next_attempt_at = clock_timestamp() where workflow_id = any($1::text[])',
      [[s!.workflow_id, b!.workflow_id]],
    );
    const leased = await leaseDueStarts(stack.db.pool, 1000, 60);
    for (const wf of [s!.workflow_id, b!.workflow_id]) {
      expect(leased.find((r) => r.workflow_id === wf)?.payload.data).toEqual(data);
    }
  });

  it('entities: entity.created then entity.updated rows, equal to what POST /entities queues', async () => {
    const entity = (externalId: string, vip: number) => ({
      entityType: 'player',
      externalId,
      data: { email: `${externalId}@example.com`, first_name: 'Ada', country: 'GB', vip_level: vip },
    });
    expect((await op.client.post(`${P}/entities`, entity('e-single', 1))).status).toBe(201);
    expect((await op.client.post(`${P}/entities`, entity('e-single', 2))).status).toBe(200);
    expect((await op.client.post(`${P}/batch/entities`, [entity('e-batched', 1)])).body.data.succeeded).toBe(
      1,
    );
    expect((await op.client.post(`${P}/batch/entities`, [entity('e-batched', 2)])).body.data.succeeded).toBe(
      1,
    );
    const s = await outbox(`payload->>'externalId' = 'e-single'`, []);
    const b = await outbox(`payload->>'externalId' = 'e-batched'`, []);
    expect(b.map((r) => r.internal_event)).toEqual(['entity.created', 'entity.updated']);
    expect(b.map((r) => shape(r, 'e-batched'))).toEqual(s.map((r) => shape(r, 'e-single')));
    // The fan-out payload carries no PII.
    expect(b[1]!.payload.data).toEqual({ country: 'GB', vip_level: 2 });
    expect(b.map((r) => r.definitions)).toEqual([['operator-webhook'], ['operator-webhook']]);
  });

  it('queues no workflow, single or batched, for entity and state changes nothing wants', async () => {
    const quiet = await newOperator(stack.db.pool, stack.baseUrl);
    const entity = {
      entityType: 'player',
      externalId: 'q-1',
      data: { email: 'q@example.com', country: 'GB' },
    };
    expect((await quiet.client.post(`${P}/entities`, entity)).status).toBe(201);
    expect(
      (await quiet.client.post(`${P}/batch/entities`, [{ ...entity, externalId: 'q-2' }])).body.data,
    ).toMatchObject({
      succeeded: 1,
    });
    expect((await quiet.client.put(`${P}/entities/q-1/state/loyalty_tier`, { value: 'gold' })).status).toBe(
      200,
    );
    expect(
      (
        await quiet.client.post(`${P}/batch/states`, [
          { externalId: 'q-2', key: 'loyalty_tier', value: 'gold' },
        ])
      ).body.data,
    ).toMatchObject({ succeeded: 1 });
    expect((await quiet.client.delete(`${P}/entities/q-1`)).status).toBe(200);
    // A recorded event always has its workflow (the brief's ID), with an empty plan here.
    expect(
      (
        await quiet.client.post(`${P}/entities/q-2/events`, {
          eventType: 'session',
          data: { action: 'login' },
        })
      ).status,
    ).toBe(201);
    const rows = await outbox('operator_id = $1 and start', [quiet.operatorId]);
    expect(rows.map((r) => [r.internal_event, r.definitions])).toEqual([['entity_event.session', []]]);
    // The state writes and the erasure queue start-less rows: no workflow, only a meeting with
    // the entity's open waits after commit.
    const waitsOnly = await outbox('operator_id = $1 and not start', [quiet.operatorId]);
    expect(waitsOnly.map((r) => [r.internal_event, r.definitions]).sort()).toEqual([
      ['entity.deleted', []],
      ['entity_state.updated.loyalty_tier', []],
      ['entity_state.updated.loyalty_tier', []],
    ]);
  });

  it('states: one entity_state.updated.<key> row per value, equal to what PUT /state/:key queues', async () => {
    await newPlayer(op.client, 's-single');
    await newPlayer(op.client, 's-batched');
    const value = { level: 'gold', points: 1200 };
    expect((await op.client.put(`${P}/entities/s-single/state/loyalty_tier`, { value })).status).toBe(200);
    const batch = await op.client.post(`${P}/batch/states`, [
      { externalId: 's-batched', key: 'loyalty_tier', value },
    ]);
    expect(batch.body.data.succeeded).toBe(1);
    const [s] = await outbox(
      `internal_event like 'entity_state.%' and payload->>'externalId' = 's-single'`,
      [],
    );
    const [b] = await outbox(
      `internal_event like 'entity_state.%' and payload->>'externalId' = 's-batched'`,
      [],
    );
    expect(b!.internal_event).toBe('entity_state.updated.loyalty_tier');
    expect(shape(b!, 's-batched')).toEqual(shape(s!, 's-single'));
    expect(b!.definitions).toEqual(['operator-webhook']);
  });

  it('records a full batch of 5,000 events with exactly one outbox row each, in one request', async () => {
    await newPlayer(op.client, 'bulk');
    const items = Array.from({ length: 5000 }, (_, i) => ({
      externalId: 'bulk',
      eventType: 'game_activity',
      data: { game_id: 'slots', bet_amount: i % 50, round_id: `r${i}` },
    }));
    const res = await op.client.post(`${P}/batch/events`, items);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ succeeded: 5000, failed: 0, errors: [] });
    const { rows } = await stack.db.pool.query(
      `select (select count(*)::int from events where external_id = 'bulk') as events,
              (select count(*)::int from fanout_outbox o join events e on o.workflow_id = 'entity_event.game_activity:' || e.id
                where e.external_id = 'bulk') as outbox`,
    );
    expect(rows[0]).toEqual({ events: 5000, outbox: 5000 });
    // Items are stored in array order: newest first lists the last item first.
    const newest = await op.client.get(`${P}/entities/bulk/events?limit=2`);
    expect(newest.body.data.map((e: { data: { round_id: string } }) => e.data.round_id)).toEqual([
      'r4999',
      'r4998',
    ]);
  });
});
