import { leaseDueStarts } from '../../../core/db/outbox';
import { settleOutbox } from '../../../core/db/waits';
import { withTransaction } from '../../../core/db/pool';
import { createTestDatabase, type TestDatabase } from '../../support/db';

/** settleOutbox's input for rows of this file's operator. */
const settled = (ids: string[]) => ids.map((workflowId) => ({ operatorId: 'op_outbox', workflowId }));

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`insert into operators (id, name, mode) values ('op_outbox', 'outbox', 'live')`);
});
afterAll(() => db.drop());

async function addRows(ids: string[]): Promise<void> {
  await db.pool.query(
    `insert into fanout_outbox (workflow_id, operator_id, internal_event, payload, search_attributes, definitions, next_attempt_at)
     select id, 'op_outbox', 'entity_event.session', '{}'::jsonb, '{}'::jsonb, '{}'::text[], clock_timestamp() from unnest($1::text[]) id`,
    [ids],
  );
}

async function remaining(ids: string[]): Promise<string[]> {
  const { rows } = await db.pool.query<{ workflow_id: string }>(
    'select workflow_id from fanout_outbox where workflow_id = any($1::text[]) order by workflow_id',
    [ids],
  );
  return rows.map((r) => r.workflow_id);
}

describe('clearing started outbox rows', () => {
  it('clears unlocked rows at once and skips rows a relay sweep holds, instead of waiting for it', async () => {
    await addRows(['wf_a', 'wf_b', 'wf_c']);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let claimed: string[] = [];
    let sweepLocked!: () => void;
    const locked = new Promise<void>((resolve) => (sweepLocked = resolve));
    // A relay sweep that has claimed every due row and is still "calling Temporal".
    const sweep = withTransaction(db.pool, async (tx) => {
      claimed = (await leaseDueStarts(tx, 100, 30)).map((r) => r.workflow_id);
      sweepLocked();
      await held;
      await settleOutbox(tx, settled(['wf_b']));
    });
    await locked;
    expect(claimed).toEqual(expect.arrayContaining(['wf_a', 'wf_b', 'wf_c']));

    const started = Date.now();
    await settleOutbox(db.pool, settled(['wf_a', 'wf_b']));
    // Returned without waiting for the sweep's transaction; the locked rows are still there.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await remaining(['wf_a', 'wf_b', 'wf_c'])).toEqual(['wf_a', 'wf_b', 'wf_c']);

    release();
    await sweep;
    // The sweep cleared what it started; the row it skipped is cleared by the next clear.
    expect(await remaining(['wf_a', 'wf_b', 'wf_c'])).toEqual(['wf_a', 'wf_c']);
    await settleOutbox(db.pool, settled(['wf_a']));
    expect(await remaining(['wf_a', 'wf_b', 'wf_c'])).toEqual(['wf_c']);
  });
});
