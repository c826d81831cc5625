import { Client } from 'pg';
import { EventWriter } from '../../core/domain/event-writer';
import type { DomainDeps } from '../../core/domain/deps';
import { recordOneEvent } from '../../core/domain/events';
import { recordEvents } from '../../core/db/events';
import { isDatabaseUnavailable } from '../../core/db/pool';
import { eventOutboxEntry } from '../../core/domain/events';
import type { PendingStart } from '../../core/db/outbox';
import { PiiCipher } from '../../core/security/pii';
import { IGAMING_TEMPLATE } from '../../core/template/igaming';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

/**
 * Single events recorded together: a group shares one statement and one commit, and each
 * request in it still gets exactly its own answer. With one statement at a time, the first of
 * several requests made at once is written alone and the rest wait and go as one group.
 */
describe('recording concurrent events as one group', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  let other: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    stack = await startStack({ relay: false, immediateStarts: false });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    other = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'p1');
    await newPlayer(other.client, 'p1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  function domain() {
    const groups: number[] = [];
    const dispatched: PendingStart[] = [];
    const deps: DomainDeps = {
      pool: stack.db.pool,
      dispatcher: { dispatch: (row) => dispatched.push(row), nudge: () => undefined },
      pii: new PiiCipher(stack.config.PII_MASTER_KEY),
      events: new EventWriter(stack.db.pool, {
        maxGroup: 100,
        maxConcurrent: 1,
        windowMs: 0,
        onGroup: (n) => groups.push(n),
      }),
    };
    const record = (operatorId: string, externalId: string, data: Record<string, unknown>, key?: string) =>
      recordOneEvent(deps, operatorId, IGAMING_TEMPLATE, { externalId, eventType: 'session', data }, key);
    return { deps, groups, dispatched, record };
  }
  const answer = (p: Promise<{ action: string; id: string }>) =>
    p.then(
      (r) => r,
      (e: { code?: string }) => ({ error: e.code }),
    );

  it('gives each request in one group its own outcome: ids, unknown entity, idempotent replays, reused and repeated keys', async () => {
    const d = domain();
    const held = await d.record(op.operatorId, 'p1', { action: 'login' }, 'key-held');
    const outcomes = await Promise.all([
      answer(d.record(op.operatorId, 'p1', { action: 'first' })), // alone: nothing was in flight
      answer(d.record(op.operatorId, 'p1', { action: 'a' })),
      answer(d.record(op.operatorId, 'nobody', { action: 'b' })),
      answer(d.record(other.operatorId, 'p1', { action: 'c' })), // another operator, same group
      answer(d.record(op.operatorId, 'p1', { action: 'k' }, 'key-1')),
      answer(d.record(op.operatorId, 'p1', { action: 'k' }, 'key-1')), // the same request again
      answer(d.record(op.operatorId, 'p1', { action: 'other' }, 'key-1')), // same key, other request
      answer(d.record(op.operatorId, 'p1', { action: 'login' }, 'key-held')), // held before the group
      answer(d.record(op.operatorId, 'p1', { action: 'changed' }, 'key-held')),
    ]);
    expect(d.groups).toEqual([1, 1, 8]);
    const [first, a, b, c, k1, k1again, k1other, heldAgain, heldOther] = outcomes as any[];
    for (const created of [first, a, c, k1])
      expect(created).toEqual({ action: 'created', id: expect.stringMatching(/^eev_/) });
    expect(new Set([first.id, a.id, c.id, k1.id]).size).toBe(4);
    expect(b).toEqual({ error: 'ENTITY_NOT_FOUND' });
    expect(k1again).toEqual({ action: 'duplicate', id: k1.id });
    expect(k1other).toEqual({ error: 'IDEMPOTENCY_KEY_REUSED' });
    expect(heldAgain).toEqual({ action: 'duplicate', id: held.id });
    expect(heldOther).toEqual({ error: 'IDEMPOTENCY_KEY_REUSED' });
    // Exactly the created events were stored, each with its outbox row, and handed to the fan-out.
    const { rows } = await stack.db.pool.query<{ id: string; outbox: boolean }>(
      `select e.id, exists (select 1 from fanout_outbox o where o.workflow_id = 'entity_event.session:' || e.id) as outbox
         from events e where e.id = any($1::text[])`,
      [[held.id, first.id, a.id, c.id, k1.id]],
    );
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.outbox)).toBe(true);
    expect(d.dispatched.map((r) => r.payload.eventId).sort()).toEqual(
      [held.id, first.id, a.id, c.id, k1.id].sort(),
    );
  });

  it('fails only the item the database refuses; its neighbours in the group are recorded', async () => {
    const item = (data: Record<string, unknown>) => {
      const id = `eev_${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}`;
      const e = { externalId: 'p1', eventType: 'session', data };
      return { id, operatorId: op.operatorId, ...e, plan: eventOutboxEntry(op.operatorId, id, e).plan };
    };
    // A NUL character passes JSON but not Postgres' jsonb (the template check refuses it first
    // in the API; here it stands for any item-specific failure validation did not foresee).
    const items = [item({ action: 'ok-1' }), item({ action: 'bad\u0000' }), item({ action: 'ok-2' })];
    await expect(recordEvents(stack.db.pool, items)).rejects.toMatchObject({ code: '22P05' });
    const writer = new EventWriter(stack.db.pool, { maxGroup: 10, maxConcurrent: 1, windowMs: 0 });
    const first = writer.record(item({ action: 'alone' }));
    const results = await Promise.allSettled(items.map((i) => writer.record(i)));
    await first;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: '22P05' });
    const { rows } = await stack.db.pool.query(
      'select id from events where id = any($1::text[]) order by id',
      [items.map((i) => i.id)],
    );
    expect(rows.map((r) => r.id)).toEqual([items[0]!.id, items[2]!.id].sort());
  });

  it("answers every request of a group cut off mid-statement with the database's unavailability (503), and stores none of them", async () => {
    const d = domain();
    const locker = new Client({ connectionString: stack.db.url, application_name: 'lock-holder' });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table events in access exclusive mode');
      const pending = [1, 2, 3].map((n) => answer(d.record(op.operatorId, 'p1', { action: `cut-${n}` })));
      // The first one is in flight alone; the other two wait for it and then form a group.
      // A terminated backend stays in pg_stat_activity, still waiting on the lock, until it has
      // exited: the second search must skip the first one's pid, or it cuts that one again and
      // leaves the group's statement to complete once the lock is released.
      const cutPids: number[] = [];
      const cut = async () => {
        for (let i = 0; i < 100; i++) {
          await locker.query('select pg_stat_clear_snapshot()');
          const { rows } = await locker.query<{ pid: number }>(
            // The recording statement only (recordEvents; pg_stat_activity keeps the first 1 KB of
            // its text): any other query on events blocks on the lock too, and cutting that one
            // instead would leave a recording waiting for the lock.
            `select pid from pg_stat_activity where datname = current_database()
               and application_name = 'igaming-ingest' and wait_event_type = 'Lock'
               and query like 'with i as (%' and pid <> all($1::int[])`,
            [cutPids],
          );
          if (rows[0]) {
            cutPids.push(rows[0].pid);
            return locker.query('select pg_terminate_backend($1)', [rows[0].pid]);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error('no recording statement blocked on the lock');
      };
      await cut(); // the lone first statement
      await cut(); // the group of the two others
      // Released before the answers are awaited: a statement that was not cut then completes,
      // and fails the expectations below, instead of waiting for the lock past the timeout.
      await locker.query('rollback');
      const outcomes = await Promise.all(pending);
      expect(d.groups).toEqual([1, 2]);
      expect(outcomes).toEqual([{ error: '57P01' }, { error: '57P01' }, { error: '57P01' }]);
      const { rows } = await locker.query(`select 1 from events where data->>'action' like 'cut-%'`);
      expect(rows).toEqual([]);
    } finally {
      await locker.end();
    }
    expect(isDatabaseUnavailable({ code: '57P01' })).toBe(true);
  });
});
