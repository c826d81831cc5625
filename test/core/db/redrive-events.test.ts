import { redriveEventsPage } from '../../../core/db/redrive-events';
import { setWorkflowSettings } from '../../../core/db/workflow-settings';
import { createTestDatabase, type TestDatabase } from '../../support/db';

let db: TestDatabase;
const since = '2000-01-01T00:00:00Z';
const until = '2100-01-01T00:00:00Z';

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(
    `insert into operators (id, name, mode) values ('op_rd_on', 'on', 'live'), ('op_rd_off', 'off', 'live')`,
  );
  await db.pool.query(
    `insert into events (id, operator_id, external_id, event_type, data)
     select 'eev_' || lpad(to_hex(n), 16, '0'), op, 'p1', 'transaction', '{"type":"deposit","amount":10}'
       from (values (1, 'op_rd_on'), (2, 'op_rd_off'), (3, 'op_rd_on'), (4, 'op_rd_off')) v(n, op)`,
  );
});
afterAll(() => db.drop());

const page = (unlessDisabled?: string) =>
  redriveEventsPage(db.pool, {
    since,
    until,
    triggers: ['entity_event.transaction'],
    after: null,
    limit: 100,
    ...(unlessDisabled ? { unlessDisabled } : {}),
  }).then((rows) => rows.map((r) => r.operator_id).sort());

describe('the events a backfill reads', () => {
  it('leave out operators whose newest settings switch the definition off, and only those', async () => {
    await setWorkflowSettings(db.pool, 'op_rd_off', { disabledDefinitions: ['aml-threshold'] });
    expect(await page('aml-threshold')).toEqual(['op_rd_on', 'op_rd_on']);
    // Another definition, or a re-drive (no filter), still reads every operator's events.
    expect(await page('kyc-on-deposit')).toEqual(['op_rd_off', 'op_rd_off', 'op_rd_on', 'op_rd_on']);
    expect(await page()).toEqual(['op_rd_off', 'op_rd_off', 'op_rd_on', 'op_rd_on']);
    // Switched on again by a newer version: read again.
    await setWorkflowSettings(db.pool, 'op_rd_off', {});
    expect(await page('aml-threshold')).toEqual(['op_rd_off', 'op_rd_off', 'op_rd_on', 'op_rd_on']);
  });
});

describe('paging through events recorded in one millisecond', () => {
  it('reads each exactly once when a page ends inside the millisecond', async () => {
    await db.pool.query(`insert into operators (id, name, mode) values ('op_rd_ms', 'ms', 'live')`);
    // Ids in the reverse order of their microseconds: a page sorted by the millisecond and then
    // the id, against a cursor on the microsecond, skips some and repeats others.
    await db.pool.query(
      `insert into events (id, operator_id, external_id, event_type, data, created_at)
       select 'eev_' || lpad(to_hex(100 - n), 16, '0'), 'op_rd_ms', 'p1', 'session', '{}',
              '2026-01-01T00:00:00.000Z'::timestamptz + n * interval '1 microsecond'
         from generate_series(1, 10) n`,
    );
    const seen: string[] = [];
    let after: { createdAt: string; id: string } | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const rows = await redriveEventsPage(db.pool, {
        operatorId: 'op_rd_ms',
        since,
        until,
        triggers: ['entity_event.session'],
        after,
        limit: 3,
      });
      seen.push(...rows.map((r) => r.id));
      const last = rows[rows.length - 1];
      if (!last || rows.length < 3) break;
      after = { createdAt: last.created_at_exact, id: last.id };
    }
    const expected = Array.from({ length: 10 }, (_, i) => `eev_${(99 - i).toString(16).padStart(16, '0')}`);
    expect(seen).toEqual(expected);
  });
});

describe('the events a trigger selects', () => {
  it('matches `_` in a trigger as itself, not as any character (exact names and `*` prefixes)', async () => {
    await db.pool.query(`insert into operators (id, name, mode) values ('op_rd_like', 'like', 'live')`);
    await db.pool.query(
      `insert into events (id, operator_id, external_id, event_type, data)
       values ('eev_1ike000000000001', 'op_rd_like', 'p1', 'game_activity', '{}'),
              ('eev_1ike000000000002', 'op_rd_like', 'p1', 'gameXactivity', '{}'),
              ('eev_1ike000000000003', 'op_rd_like', 'p1', 'game_round', '{}'),
              ('eev_1ike000000000004', 'op_rd_like', 'p1', 'gameXround', '{}')`,
    );
    const selected = (triggers: string[]) =>
      redriveEventsPage(db.pool, {
        operatorId: 'op_rd_like',
        since,
        until,
        triggers,
        after: null,
        limit: 100,
      }).then((rows) => rows.map((r) => r.event_type).sort());
    expect(await selected(['entity_event.game_activity'])).toEqual(['game_activity']);
    expect(await selected(['entity_event.game_*'])).toEqual(['game_activity', 'game_round']);
    expect(await selected(['entity_event.*'])).toEqual([
      'gameXactivity',
      'gameXround',
      'game_activity',
      'game_round',
    ]);
  });
});
