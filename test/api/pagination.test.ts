import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P, type Res } from '../support/http';
import { expectError } from '../support/expect';

interface Row {
  id: string;
  event_type: string;
  created_at: string;
}

describe('listing events: cursor, offset, since/until, limit', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const list = `${P}/entities/walker/events`;
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'walker');
    const items = Array.from({ length: 120 }, (_, i) => ({
      externalId: 'walker',
      eventType: i % 3 === 0 ? 'transaction' : 'session',
      data: i % 3 === 0 ? { type: 'deposit', amount: i, currency: 'GBP' } : { action: 'login', n: i },
    }));
    expect((await op.client.post(`${P}/batch/events`, items)).body.data.succeeded).toBe(120);
    // Rows sharing one created_at, so pages must break ties by id to neither skip nor repeat.
    await stack.db.pool.query(
      `insert into events (id, operator_id, external_id, event_type, data, created_at)
       select 'eev_' || lpad(to_hex(g), 16, '0'), $1, 'walker', 'session', '{}',
              (select created_at from events where external_id = 'walker' order by created_at limit 1 offset 60)
         from generate_series(1, 25) g`,
      [op.operatorId],
    );
  });
  afterAll(async () => {
    await stack?.close();
  });

  const existingIds = async (type?: string): Promise<string[]> =>
    (
      await stack.db.pool.query<{ id: string }>(
        `select id from events where operator_id = $1 and external_id = 'walker' and ($2::text is null or event_type = $2)
          order by created_at desc, id desc`,
        [op.operatorId, type ?? null],
      )
    ).rows.map((r) => r.id);

  /** Follows next_cursor to the end; answers every row in page order. */
  const walk = async (query: string): Promise<Row[]> => {
    const rows: Row[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const res: Res = await op.client.get(
        `${list}?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(res.body.data.length);
      rows.push(...res.body.data);
      if (!res.body.has_more) {
        expect(res.body.next_cursor).toBeNull();
        return rows;
      }
      cursor = res.body.next_cursor;
    }
    throw new Error('did not reach the last page');
  };

  it('pages through with cursor while events are being inserted: nothing that existed is skipped or repeated', async () => {
    const before = await existingIds();
    expect(before).toHaveLength(145);
    let inserting = true;
    let inserted = 0;
    const writer = (async () => {
      while (inserting) {
        const res = await op.client.post(list, { eventType: 'session', data: { action: 'concurrent' } });
        expect(res.status).toBe(201);
        inserted++;
      }
    })();
    let rows: Row[];
    try {
      rows = await walk('limit=7');
    } finally {
      inserting = false;
      await writer;
    }
    expect(inserted).toBeGreaterThan(0);
    const ids = rows.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => before.includes(id))).toEqual(before);
  });

  it('pages through one type with cursor, in the same order as the database', async () => {
    const rows = await walk('type=transaction&limit=6');
    expect(rows.every((r) => r.event_type === 'transaction')).toBe(true);
    expect(rows.map((r) => r.id)).toEqual(await existingIds('transaction'));
  });

  it('offset pages the same list', async () => {
    const all = (await op.client.get(`${list}?limit=10`)).body.data.map((r: Row) => r.id);
    const page = await op.client.get(`${list}?limit=3&offset=4`);
    expect(page.body.data.map((r: Row) => r.id)).toEqual(all.slice(4, 7));
    expect(page.body.has_more).toBe(true);
  });

  it('defaults to 100 rows and accepts limit=100', async () => {
    expect((await op.client.get(list)).body.count).toBe(100);
    expect((await op.client.get(`${list}?limit=100`)).body.count).toBe(100);
    expect((await op.client.get(`${list}?limit=1`)).body.count).toBe(1);
  });

  it('since is inclusive and until exclusive', async () => {
    await newPlayer(op.client, 'timeline');
    // One event a minute from 12:00 to 12:19, at known times.
    await stack.db.pool.query(
      `insert into events (id, operator_id, external_id, event_type, data, created_at)
       select 'eev_' || lpad(to_hex(1000 + g), 16, '0'), $1, 'timeline', 'session', jsonb_build_object('minute', g),
              timestamptz '2026-04-06T12:00:00Z' + make_interval(mins => g)
         from generate_series(0, 19) g`,
      [op.operatorId],
    );
    const minutes = async (query: string) =>
      (
        (await op.client.get(`${P}/entities/timeline/events?${query}`)).body.data as Array<{
          data: { minute: number };
        }>
      ).map((r) => r.data.minute);
    expect(await minutes('since=2026-04-06T12:15:00.000Z')).toEqual([19, 18, 17, 16, 15]);
    expect(await minutes('until=2026-04-06T12:03:00.000Z')).toEqual([2, 1, 0]);
    expect(await minutes('since=2026-04-06T12:05:00.000Z&until=2026-04-06T12:08:00.000Z')).toEqual([7, 6, 5]);
    expect(await minutes('since=2026-04-06T12:05:30Z&until=2026-04-06T12:07:00Z')).toEqual([6]);
    expect(await minutes('since=2026-04-06T13:00:00.000Z')).toEqual([]);
  });

  it.each(['0', '101', '-1', 'abc', '1.5', ''])('400 VALIDATION_FAILED for limit=%s', async (limit) => {
    const res = await op.client.get(`${list}?limit=${limit}`);
    expectError(res, 400, 'VALIDATION_FAILED');
    expect(res.body.error.details[0].field).toBe('limit');
  });

  it('400 VALIDATION_FAILED for a negative or non-numeric offset', async () => {
    expectError(await op.client.get(`${list}?offset=-1`), 400, 'VALIDATION_FAILED');
    expectError(await op.client.get(`${list}?offset=x`), 400, 'VALIDATION_FAILED');
  });

  it('400 VALIDATION_FAILED for a cursor that this API did not issue', async () => {
    const forged = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const cursor of [
      'garbage',
      '!!!',
      forged({ t: 'yesterday', i: 'eev_0000000000000001' }),
      forged({ t: '2026-01-01T00:00:00Z', i: "x' or 1=1" }),
      forged(null),
    ]) {
      const res = await op.client.get(`${list}?cursor=${encodeURIComponent(cursor)}`);
      expectError(res, 400, 'VALIDATION_FAILED');
    }
  });

  it('400 VALIDATION_FAILED for cursor and offset together', async () => {
    const { next_cursor } = (await op.client.get(`${list}?limit=2`)).body;
    expectError(
      await op.client.get(`${list}?limit=2&offset=2&cursor=${encodeURIComponent(next_cursor)}`),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('400 VALIDATION_FAILED for since or until that are not timestamps', async () => {
    expectError(await op.client.get(`${list}?since=yesterday`), 400, 'VALIDATION_FAILED');
    expectError(await op.client.get(`${list}?until=2026-13-45T99:00:00Z`), 400, 'VALIDATION_FAILED');
  });
});
