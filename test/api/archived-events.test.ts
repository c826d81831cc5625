import { archiveEventsBatch } from '../../core/db/retention';
import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P, type Res } from '../support/http';
import { expectError } from '../support/expect';

interface Row {
  id: string;
  event_type: string;
  created_at: string;
  data: Record<string, unknown>;
}

/**
 * GET /entities/:externalId/events lists events the retention sweep moved to events_archive
 * (past hot_days) after the hot ones: one list, newest first, whatever table a row is in.
 */
describe('listing events across the hot table and the archive', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const T0 = Date.parse('2026-04-06T12:00:00Z');

  /**
   * An operator of its own (the sweep works per operator) with one player and `n` events, one
   * a minute from T0 (data.minute = i), every third a transaction, the rest sessions.
   */
  async function scenario(externalId: string, n: number) {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, externalId);
    await stack.db.pool.query(
      `insert into events (id, operator_id, external_id, event_type, data, created_at)
       select 'eev_' || substr(md5($1 || g), 1, 16), $1, $2,
              case when g % 3 = 0 then 'transaction' else 'session' end, jsonb_build_object('minute', g),
              $4::timestamptz + make_interval(mins => g)
         from generate_series(0, $3::int - 1) g`,
      [op.operatorId, externalId, n, new Date(T0)],
    );
    const get = (query: string): Promise<Res> => op.client.get(`${P}/entities/${externalId}/events?${query}`);
    return {
      op,
      get,
      /** Moves the events created before T0 + `minute` into the archive, as the sweep does. */
      archiveBefore: (minute: number) =>
        archiveEventsBatch(stack.db.pool, {
          operatorId: op.operatorId,
          cutoff: new Date(T0 + minute * 60_000),
          limit: 10_000,
        }),
      /** Both tables, in the order the API promises. */
      expectedIds: async (type?: string): Promise<string[]> =>
        (
          await stack.db.pool.query<{ id: string }>(
            `select id, created_at from events where operator_id = $1 and ($2::text is null or event_type = $2)
             union all
             select id, created_at from events_archive where operator_id = $1 and ($2::text is null or event_type = $2)
             order by created_at desc, id desc`,
            [op.operatorId, type ?? null],
          )
        ).rows.map((r) => r.id),
      /** Follows next_cursor to the end; `between` runs after each page but the last. */
      walk: async (query: string, between?: (page: number) => Promise<unknown>): Promise<Row[][]> => {
        const pages: Row[][] = [];
        let cursor: string | null = null;
        for (let n = 0; n < 100; n++) {
          const res: Res = await get(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          expect(res.status).toBe(200);
          pages.push(res.body.data);
          if (!res.body.has_more) {
            expect(res.body.next_cursor).toBeNull();
            return pages;
          }
          cursor = res.body.next_cursor;
          await between?.(n);
        }
        throw new Error('did not reach the last page');
      },
    };
  }

  const inArchive = async (ids: string[]): Promise<Set<string>> =>
    new Set(
      (
        await stack.db.pool.query<{ id: string }>('select id from events_archive where id = any($1)', [ids])
      ).rows.map((r) => r.id),
    );

  it('walks with a cursor from hot into archived events, newest first, with a page that spans both', async () => {
    const s = await scenario('walker', 40);
    expect(await s.archiveBefore(23)).toBe(23); // minutes 0–22 archived, 23–39 hot
    const expected = await s.expectedIds();
    expect(expected).toHaveLength(40);

    const pages = await s.walk('limit=7');
    const rows = pages.flat();
    expect(rows.map((r) => r.id)).toEqual(expected);
    expect(rows.map((r) => r.data.minute)).toEqual(Array.from({ length: 40 }, (_, i) => 39 - i));
    // 17 hot rows: the third page holds 3 hot and 4 archived ones.
    const archived = await inArchive(expected);
    expect(pages[2]!.map((r) => archived.has(r.id))).toEqual([false, false, false, true, true, true, true]);
  });

  it('type, since/until and offset behave across the boundary as on one table', async () => {
    const s = await scenario('filters', 30);
    expect(await s.archiveBefore(15)).toBe(15); // minutes 0–14 archived
    const all = await s.expectedIds();
    const transactions = (await s.walk('type=transaction&limit=4')).flat();
    expect(transactions.map((r) => r.id)).toEqual(await s.expectedIds('transaction'));
    expect(transactions.map((r) => r.data.minute)).toEqual([27, 24, 21, 18, 15, 12, 9, 6, 3, 0]);

    const minutes = async (query: string) =>
      ((await s.get(query)).body.data as Row[]).map((r) => r.data.minute);
    expect(await minutes('since=2026-04-06T12:13:00Z&until=2026-04-06T12:17:00Z')).toEqual([16, 15, 14, 13]);
    expect(await minutes('until=2026-04-06T12:02:00Z')).toEqual([1, 0]);
    expect(await minutes('type=transaction&since=2026-04-06T12:10:00Z&until=2026-04-06T12:20:00Z')).toEqual([
      18, 15, 12,
    ]);

    const page = await s.get('limit=5&offset=12');
    expect(page.body.data.map((r: Row) => r.id)).toEqual(all.slice(12, 17));
    expect(page.body.has_more).toBe(true);
    const last = await s.get('limit=5&offset=27');
    expect(last.body.data.map((r: Row) => r.id)).toEqual(all.slice(27));
    expect(last.body.has_more).toBe(false);
  });

  it('breaks ties on created_at by id across the two tables', async () => {
    const s = await scenario('ties', 0);
    // Ten events at one instant, the odd ones in the archive (as if archived by an earlier sweep).
    for (const table of ['events', 'events_archive']) {
      await stack.db.pool.query(
        `insert into ${table} (id, operator_id, external_id, event_type, data, created_at)
         select 'eev_' || lpad(to_hex(900000 + g), 16, '0'), $1, 'ties', 'session', '{}', $2::timestamptz
           from generate_series(0, 9) g where g % 2 = $3`,
        [s.op.operatorId, new Date(T0), table === 'events' ? 0 : 1],
      );
    }
    const ids = (await s.walk('limit=3')).flat().map((r) => r.id);
    expect(ids).toEqual(
      Array.from({ length: 10 }, (_, i) => `eev_${(900009 - i).toString(16).padStart(16, '0')}`),
    );
  });

  it('a walk that the retention sweep overtakes neither skips nor repeats an event', async () => {
    const s = await scenario('overtaken', 30);
    const expected = await s.expectedIds();
    // Between pages the sweep archives ever more: rows already seen and rows still ahead.
    const pages = await s.walk('limit=4', (page) => s.archiveBefore(12 + page * 3));
    expect(pages.flat().map((r) => r.id)).toEqual(expected);
    expect((await inArchive(expected)).size).toBeGreaterThanOrEqual(12);
  });

  it('lists an entity whose events are all archived, and nothing once the entity is deleted', async () => {
    const s = await scenario('cold', 5);
    expect(await s.archiveBefore(5)).toBe(5);
    const res = await s.get('limit=10');
    expect(res.body.data.map((r: Row) => r.data.minute)).toEqual([4, 3, 2, 1, 0]);

    expect((await s.op.client.delete(`${P}/entities/cold`)).status).toBe(200);
    expectError(await s.get('limit=10'), 404, 'ENTITY_NOT_FOUND');
  });

  it("answers an archived event's fan-out status to its operator, and 404 to another", async () => {
    const s = await scenario('archived_status', 3);
    const other = await scenario('archived_status', 0);
    expect(await s.archiveBefore(3)).toBe(3);
    const [id] = [...(await inArchive(await s.expectedIds()))];
    const res = await s.op.client.get(`${P}/events/${id}/fanout`);
    expect(res.status).toBe(200);
    // Inserted without a workflow, as if Temporal's retention had long dropped it.
    expect(res.body.data).toMatchObject({
      eventId: id,
      state: 'started',
      outcomes: { available: false, reason: expect.stringMatching(/no longer has/) },
    });
    expectError(await other.op.client.get(`${P}/events/${id}/fanout`), 404, 'NOT_FOUND');
  });

  it("another operator's archived events stay out of the list", async () => {
    const s = await scenario('shared_id', 0);
    const other = await scenario('shared_id', 3);
    expect(await other.archiveBefore(3)).toBe(3);
    expect((await s.get('limit=10')).body.data).toEqual([]);
    expect((await other.get('limit=10')).body.count).toBe(3);
  });
});
