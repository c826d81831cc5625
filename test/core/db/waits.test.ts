import type { PoolClient } from 'pg';
import {
  closeWait,
  lookbackPage,
  pruneCancelledWaits,
  registerWait,
  settleOutbox,
  type WaitRegistration,
  waitsOf,
} from '../../../core/db/waits';
import { createTestDatabase, type TestDatabase } from '../../support/db';

/** settleOutbox's input for rows of this file's operator. */
const settled = (ids: string[]) => ids.map((workflowId) => ({ operatorId: OP, workflowId }));

/**
 * The wait that cannot miss (core/db/waits.ts): an internal event reaches an open wait through
 * the lookback or through the signal queued when its outbox row is settled, in every order of
 * the two commits, and always under the same key.
 */
let db: TestDatabase;
const OP = 'op_waits';

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`insert into operators (id, name, mode) values ($1, 'waits', 'live')`, [OP]);
});
afterAll(() => db.drop());

let seq = 0;
const nextId = (prefix: string) => `${prefix}_${String(++seq).padStart(6, '0')}`;

/** Records an event and its outbox row as the recording statement does (on `q`: the pool or an open transaction). */
async function record(
  q: Pick<PoolClient, 'query'>,
  externalId: string,
  eventType: string,
  data: Record<string, unknown>,
): Promise<{ id: string; key: string }> {
  const id = nextId('eev');
  const key = `entity_event.${eventType}:${id}`;
  await q.query(
    `insert into events (id, operator_id, external_id, event_type, data) values ($1, $2, $3, $4, $5)`,
    [id, OP, externalId, eventType, data],
  );
  await q.query(
    `insert into fanout_outbox (workflow_id, operator_id, internal_event, payload, search_attributes, definitions)
     values ($1, $2, $3, $4, '{}'::jsonb, '{}')`,
    [
      key,
      OP,
      `entity_event.${eventType}`,
      { externalId, eventId: id, operatorId: OP, internalEvent: `entity_event.${eventType}` },
    ],
  );
  return { id, key };
}

function waitOf(
  trigger: { id: string; key: string },
  externalId: string,
  events: string[],
): WaitRegistration {
  return {
    workflowId: trigger.key,
    waitId: 'test-definition/1',
    operatorId: OP,
    externalId,
    definition: 'test-definition',
    internalEvents: events,
    eventId: trigger.id,
    occurredAt: new Date().toISOString(),
    label: 'a document',
    deadline: new Date(Date.now() + 60_000).toISOString(),
  };
}

const lookbackKeys = async (w: WaitRegistration) =>
  (await lookbackPage(db.pool, { operatorId: OP, workflowId: w.workflowId, waitId: w.waitId })).events.map(
    (e) => e.key,
  );

describe('an internal event meets an open wait', () => {
  it('through the lookback when it committed before the wait registered, and the settle then queues nothing for it', async () => {
    const trigger = await record(db.pool, 'p1', 'transaction', { type: 'deposit' });
    await settleOutbox(db.pool, settled([trigger.key]));
    const doc = await record(db.pool, 'p1', 'document', { kind: 'payslip' });
    // Settled before any wait existed: no signal.
    expect(await settleOutbox(db.pool, settled([doc.key]))).toEqual([]);
    const w = waitOf(trigger, 'p1', ['entity_event.document']);
    await registerWait(db.pool, w);
    const page = await lookbackPage(db.pool, { operatorId: OP, workflowId: w.workflowId, waitId: w.waitId });
    expect(page.events).toEqual([
      expect.objectContaining({
        key: doc.key,
        internalEvent: 'entity_event.document',
        eventId: doc.id,
        data: { kind: 'payslip' },
      }),
    ]);
    expect(page.events[0]!.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('through a signal, under the same key, when it is settled after the wait registered', async () => {
    const trigger = await record(db.pool, 'p2', 'transaction', { type: 'deposit' });
    const w = waitOf(trigger, 'p2', ['entity_event.document']);
    await registerWait(db.pool, w);
    const doc = await record(db.pool, 'p2', 'document', { kind: 'bank statement' });
    const signals = await settleOutbox(db.pool, settled([doc.key]));
    expect(signals).toEqual([
      {
        workflow_id: trigger.key,
        operator_id: OP,
        event_key: doc.key,
        payload: expect.objectContaining({ key: doc.key, eventId: doc.id, data: { kind: 'bank statement' } }),
      },
    ]);
    // Both paths can deliver it; they name it alike, so the workflow keeps one.
    expect(await lookbackKeys(w)).toEqual([doc.key]);
    // A second settle of the same row (a relay racing the immediate path) queues nothing more.
    expect(await settleOutbox(db.pool, settled([doc.key]))).toEqual([]);
  });

  it('when its recording commits after the wait registered and read its lookback (the window a check inside the recording statement would miss)', async () => {
    const trigger = await record(db.pool, 'p3', 'transaction', { type: 'deposit' });
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      const doc = await record(client, 'p3', 'document', { kind: 'late' });
      // The wait registers and reads its lookback while the event is still uncommitted.
      const w = waitOf(trigger, 'p3', ['entity_event.document']);
      await registerWait(db.pool, w);
      expect(await lookbackKeys(w)).toEqual([]);
      await client.query('commit');
      // After commit, the settle sees the wait and queues the signal.
      expect((await settleOutbox(db.pool, settled([doc.key]))).map((s) => s.event_key)).toEqual([doc.key]);
    } finally {
      client.release();
    }
  });

  it('counts only events after the wait’s own event, to the microsecond, and only of its entity and names', async () => {
    const before = await record(db.pool, 'p4', 'document', { kind: 'earlier' });
    const trigger = await record(db.pool, 'p4', 'transaction', { type: 'deposit' });
    const otherEntity = await record(db.pool, 'p4-other', 'document', {});
    const otherName = await record(db.pool, 'p4', 'session', {});
    const after = await record(db.pool, 'p4', 'document', { kind: 'later' });
    const w = waitOf(trigger, 'p4', ['entity_event.document']);
    await registerWait(db.pool, w);
    expect(await lookbackKeys(w)).toEqual([after.key]);
    const signals = await settleOutbox(
      db.pool,
      settled([before.key, otherEntity.key, otherName.key, after.key]),
    );
    expect(signals.map((s) => s.event_key)).toEqual([after.key]);
  });

  it('pages a long lookback oldest first without skipping or repeating events recorded in one millisecond', async () => {
    const trigger = await record(db.pool, 'p5', 'transaction', { type: 'deposit' });
    const w = waitOf(trigger, 'p5', ['entity_event.document']);
    // 45 events in one statement: many share a millisecond (and a microsecond is possible too).
    const { rows } = await db.pool.query<{ id: string }>(
      `insert into events (id, operator_id, external_id, event_type, data)
       select 'eev_page_' || lpad(g::text, 3, '0'), $1, 'p5', 'document', jsonb_build_object('n', g)
         from generate_series(1, 45) g returning id`,
      [OP],
    );
    await registerWait(db.pool, w);
    const seen: string[] = [];
    let page = await lookbackPage(db.pool, { operatorId: OP, workflowId: w.workflowId, waitId: w.waitId });
    seen.push(...page.events.map((e) => e.eventId!));
    while (page.next) {
      page = await lookbackPage(db.pool, {
        operatorId: OP,
        workflowId: w.workflowId,
        waitId: w.waitId,
        after: page.next,
      });
      seen.push(...page.events.map((e) => e.eventId!));
    }
    expect(seen.sort()).toEqual(rows.map((r) => r.id).sort());
    expect(new Set(seen).size).toBe(45);
  });

  it('includes a state written since, under the key of its outbox row, and the entity’s erasure', async () => {
    const trigger = await record(db.pool, 'p6', 'transaction', { type: 'deposit' });
    await db.pool.query(
      `insert into entities (id, operator_id, external_id, entity_type, data) values ('ent_p6', $1, 'p6', 'player', '{}')`,
      [OP],
    );
    await db.pool.query(
      `insert into entity_states (operator_id, external_id, state_key, value, update_id) values ($1, 'p6', 'sof_status', '"verified"', 'ien_1')`,
      [OP],
    );
    const w = waitOf(trigger, 'p6', ['entity_state.updated.sof_status', 'entity.deleted']);
    await registerWait(db.pool, w);
    const page = await lookbackPage(db.pool, { operatorId: OP, workflowId: w.workflowId, waitId: w.waitId });
    expect(page.events).toEqual([
      expect.objectContaining({
        key: 'entity_state.updated.sof_status:ien_1',
        stateKey: 'sof_status',
        data: { value: 'verified' },
      }),
    ]);
    await db.pool.query(
      `update entities set deleted_at = now() where operator_id = $1 and external_id = 'p6'`,
      [OP],
    );
    expect(await lookbackKeys(w)).toContain('entity.deleted:p6');
  });
});

describe('closing a wait', () => {
  const open = async (w: WaitRegistration) =>
    (await db.pool.query('select 1 from entity_waits where workflow_id = $1', [w.workflowId])).rows.length;

  it('keeps what cancelled it, once however often the close is retried, until pruned', async () => {
    const w = waitOf(await record(db.pool, 'p7', 'transaction', { type: 'deposit' }), 'p7', [
      'entity_event.block',
    ]);
    await registerWait(db.pool, w);
    expect(await waitsOf(db.pool, OP, w.workflowId)).toEqual({
      open: [
        {
          definition: 'test-definition',
          label: 'a document',
          internalEvents: ['entity_event.block'],
          deadline: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
          openedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
        },
      ],
      cancelled: [],
    });
    const cancelledBy = {
      definition: 'test-definition',
      internalEvent: 'entity_event.block',
      eventId: 'eev_block',
      at: '2026-12-03T10:00:00.123456Z',
    };
    const key = { operatorId: OP, workflowId: w.workflowId, waitId: w.waitId };
    await closeWait(db.pool, { ...key, cancelledBy });
    await closeWait(db.pool, { ...key, cancelledBy: { ...cancelledBy, eventId: 'eev_other' } });
    expect(await open(w)).toBe(0);
    expect(await waitsOf(db.pool, OP, w.workflowId)).toEqual({ open: [], cancelled: [cancelledBy] });
    expect(await waitsOf(db.pool, 'op_someone_else', w.workflowId)).toEqual({ open: [], cancelled: [] });
    expect(await pruneCancelledWaits(db.pool, OP, new Date(Date.now() - 60_000))).toBe(0);
    expect(await pruneCancelledWaits(db.pool, OP, new Date(Date.now() + 60_000))).toBe(1);
    expect((await waitsOf(db.pool, OP, w.workflowId)).cancelled).toEqual([]);
  });

  it('leaves nothing behind when satisfied or timed out', async () => {
    const w = waitOf(await record(db.pool, 'p8', 'transaction', { type: 'deposit' }), 'p8', [
      'entity_event.block',
    ]);
    await registerWait(db.pool, w);
    await closeWait(db.pool, { operatorId: OP, workflowId: w.workflowId, waitId: w.waitId });
    expect(await open(w)).toBe(0);
    expect(await waitsOf(db.pool, OP, w.workflowId)).toEqual({ open: [], cancelled: [] });
  });
});
