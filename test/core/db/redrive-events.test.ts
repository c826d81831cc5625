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
    patterns: ['entity_event.transaction'],
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
