import net from 'node:net';
import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P, api } from '../support/http';
import { expectError } from '../support/expect';
import { createTestDatabase } from '../support/db';

interface RawRes {
  status: number;
  headers: string;
  body: any;
}

/**
 * Sends exactly these bytes (fetch would normalise `..`, refuse CR/LF/NUL in headers and
 * re-encode the path) and reads the whole answer.
 */
function raw(baseUrl: string, request: string | Buffer): Promise<RawRes> {
  const { port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(request));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const bodyText = rest.join('\r\n\r\n');
      let body: unknown = bodyText;
      try {
        body = JSON.parse(bodyText);
      } catch {
        // not JSON: keep the text so the assertion shows it
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body });
    });
  });
}

const SQL = [
  "' OR '1'='1",
  "x'; DROP TABLE events; --",
  '" OR 1=1 --',
  '1); select pg_sleep(5); --',
  "player_1' UNION SELECT id, data FROM entities --",
];

/** What a statement that ran one of the strings above as SQL would contain, as pg_stat_statements records it. */
const RAN_INJECTED_SQL = /pg_sleep|drop\s+table|union\s+select/i;

describe('bad input: refused with a clear 4xx in the envelope, nothing stored', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  let other: Awaited<ReturnType<typeof newOperator>>;
  const events = `${P}/entities/player_1/events`;

  beforeAll(async () => {
    stack = await startStack({ relay: false, immediateStarts: false });
    // What reached the server as SQL (npm test loads the library: scripts/lib/postgres.ts).
    await stack.db.pool.query('create extension if not exists pg_stat_statements');
    op = await newOperator(stack.db.pool, stack.baseUrl);
    other = await newOperator(stack.db.pool, stack.baseUrl, { name: 'other' });
    await newPlayer(op.client, 'player_1');
    await newPlayer(other.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Rows of every table a request of `op` can write, plus the other operator's, as one snapshot. */
  async function snapshot() {
    const { rows } = await stack.db.pool.query<{ t: string; n: number }>(
      `select 'events' t, count(*)::int n from events union all
       select 'entities', count(*)::int from entities union all
       select 'states', count(*)::int from entity_states union all
       select 'idempotency', count(*)::int from idempotency_keys union all
       select 'outbox', count(*)::int from fanout_outbox union all
       select 'jobs', count(*)::int from batch_jobs union all
       select 'operators', count(*)::int from operators`,
    );
    return Object.fromEntries(rows.map((r) => [r.t, r.n]));
  }

  /** Every statement a database (this file's unless told) has run, as pg_stat_statements records it. */
  async function statementsReceived(database?: string): Promise<string[]> {
    const { rows } = await stack.db.pool.query<{ query: string }>(
      `select query from pg_stat_statements
        where dbid = (select oid from pg_database where datname = coalesce($1, current_database()))`,
      [database ?? null],
    );
    return rows.map((r) => r.query);
  }

  async function expectNothingStored<T>(fn: () => Promise<T>): Promise<T> {
    const before = await snapshot();
    const out = await fn();
    expect(await snapshot()).toEqual(before);
    return out;
  }

  const request = (method: string, path: string, headers: Record<string, string>, body = '') =>
    [
      `${method} ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      `Authorization: Bearer ${op.apiKey}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ...(body ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`] : []),
      'Connection: close',
      '',
      body,
    ].join('\r\n');

  describe('size and shape', () => {
    it('413 PAYLOAD_TOO_LARGE for a 2 MB body on every single-item write', async () => {
      const big = JSON.stringify({ value: 'x'.repeat(2 * 1024 * 1024) });
      await expectNothingStored(async () => {
        expectError(await op.client.post(`${P}/entities`, big), 413, 'PAYLOAD_TOO_LARGE');
        expectError(
          await op.client.put(`${P}/entities/player_1/state/balance`, big),
          413,
          'PAYLOAD_TOO_LARGE',
        );
        expectError(await op.client.put(`${P}/settings`, big), 413, 'PAYLOAD_TOO_LARGE');
        expectError(await op.client.put(`${P}/webhooks`, big), 413, 'PAYLOAD_TOO_LARGE');
      });
    });

    it('400 VALIDATION_FAILED for JSON nested 10,000 deep in an entity, a state value or a batch item', async () => {
      const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
      await expectNothingStored(async () => {
        expectError(
          await op.client.post(
            `${P}/entities`,
            `{"entityType":"player","externalId":"deep","data":{"email":"d@x.io","a":${deep}}}`,
          ),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await op.client.put(`${P}/entities/player_1/state/balance`, `{"value":${deep}}`),
          400,
          'VALIDATION_FAILED',
        );
      });
      const batch = await op.client.post(
        `${P}/batch/events`,
        `[{"externalId":"player_1","eventType":"session","data":{"a":${deep}}}]`,
      );
      expect(batch.status).toBe(200);
      expect(batch.body.data).toMatchObject({
        succeeded: 0,
        failed: 1,
        errors: [{ index: 0, code: 'VALIDATION_FAILED' }],
      });
      const { rows } = await stack.db.pool.query(
        `select count(*)::int n from events where operator_id = $1`,
        [op.operatorId],
      );
      expect(rows[0].n).toBe(0);
    });

    it('400 for invalid UTF-8 and for U+0000 anywhere in an entity or a state value', async () => {
      const latin1 = Buffer.concat([
        Buffer.from('{"entityType":"player","externalId":"u","data":{"email":"'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('@x.io"}}'),
      ]);
      await expectNothingStored(async () => {
        const res = await raw(
          stack.baseUrl,
          Buffer.concat([
            Buffer.from(
              request('POST', `${P}/entities`, {}, 'x'.repeat(latin1.length)).slice(0, -latin1.length),
            ),
            latin1,
          ]),
        );
        expect(res).toMatchObject({
          status: 400,
          body: {
            success: false,
            error: { code: 'VALIDATION_FAILED', message: 'Request body is not valid UTF-8' },
          },
        });
        for (const body of [
          { entityType: 'player', externalId: 'nul\u0000id', data: { email: 'a@x.io' } },
          { entityType: 'player', externalId: 'nul', data: { email: 'a@x.io', 'k\u0000': 1 } },
          { entityType: 'player', externalId: 'nul', data: { email: 'a\u0000@x.io' } },
        ]) {
          expectError(await op.client.post(`${P}/entities`, body), 400, 'VALIDATION_FAILED');
        }
        expectError(
          await op.client.put(`${P}/entities/player_1/state/balance`, { value: 'a\u0000b' }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await op.client.post(events, { eventType: 'session\u0000', data: {} }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(await op.client.get(`${P}/entities/player%00_1`), 400, 'VALIDATION_FAILED');
        expectError(await op.client.get(`${events}?type=%00`), 400, 'VALIDATION_FAILED');
      });
      // A batch lists the refused item, quoting its id; the job record keeps it with U+FFFD.
      const batch = await op.client.post(`${P}/batch/events`, [
        { externalId: 'nul\u0000id', eventType: 'session', data: {} },
        { externalId: 'player_1', eventType: 'bad\ud800type', data: {} },
      ]);
      expect(batch.status).toBe(200);
      expect(batch.body.data).toMatchObject({ succeeded: 0, failed: 2 });
      const job = await op.client.get(`${P}/batch/jobs/${batch.body.data.jobId}`);
      expect(job.status).toBe(200);
      expect(JSON.stringify(job.body.data.errors)).toContain('nul\ufffdid');
    });
  });

  describe('numbers', () => {
    const deposit = (amount: string) =>
      `{"eventType":"transaction","data":{"type":"deposit","amount":${amount},"currency":"GBP"}}`;

    it('400 for 1e309 (Infinity once parsed), in a template amount or in any other field', async () => {
      await expectNothingStored(async () => {
        expectError(await op.client.post(events, deposit('1e309')), 400, 'VALIDATION_FAILED');
        expectError(await op.client.post(events, deposit('-1e309')), 400, 'VALIDATION_FAILED');
        // Would otherwise be stored as null: JSON.stringify(Infinity) === 'null'.
        const res = await op.client.post(events, '{"eventType":"session","data":{"score":1e309}}');
        expectError(res, 400, 'VALIDATION_FAILED');
        expect(res.body.error.details).toEqual([{ field: 'data.score', reason: 'must be a finite number' }]);
        expectError(
          await op.client.put(`${P}/entities/player_1/state/balance`, '{"value":1e999}'),
          400,
          'VALIDATION_FAILED',
        );
      });
    });

    it('400 for negative, non-numeric or non-finite bet, win and bonus amounts', async () => {
      await expectNothingStored(async () => {
        for (const data of [
          { game_id: 'g', bet_amount: -1 },
          { game_id: 'g', bet_amount: 1, win_amount: -0.01 },
          { game_id: 'g', bet_amount: 'NaN' },
          { game_id: 'g', bet_amount: 'Infinity' },
          { game_id: 'g', bet_amount: '10' },
        ]) {
          expectError(
            await op.client.post(events, { eventType: 'game_activity', data }),
            400,
            'VALIDATION_FAILED',
          );
        }
        expectError(
          await op.client.post(events, { eventType: 'bonus', data: { amount: -10 } }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(await op.client.post(events, deposit('"100"')), 400, 'VALIDATION_FAILED');
      });
    });

    it('-0 is zero: accepted and stored and read back as 0', async () => {
      const res = await op.client.post(events, deposit('-0'));
      expect(res.status).toBe(201);
      const { rows } = await stack.db.pool.query(`select data from events where id = $1`, [res.body.data.id]);
      expect(Object.is(rows[0].data.amount, 0)).toBe(true);
      const list = await op.client.get(`${events}?type=transaction&limit=1`);
      expect(list.body.data[0]).toMatchObject({ id: res.body.data.id, data: { amount: 0 } });
    });
  });

  describe('names that exist on Object.prototype', () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
    it.each(names.map((n) => [n]))(
      '%s as an event type, entity type, state key or template id: 400, nothing stored',
      async (name) => {
        await expectNothingStored(async () => {
          expectError(await op.client.post(events, { eventType: name, data: {} }), 400, 'VALIDATION_FAILED');
          expectError(
            await op.client.post(`${P}/entities`, {
              entityType: name,
              externalId: 'proto',
              data: { email: 'p@x.io' },
            }),
            400,
            'VALIDATION_FAILED',
          );
          expectError(
            await op.client.put(`${P}/entities/player_1/state/${name}`, { value: 1 }),
            400,
            'VALIDATION_FAILED',
          );
          expectError(await op.client.put(`${P}/settings`, { templateId: name }), 400, 'VALIDATION_FAILED');
        });
        const batch = await op.client.post(`${P}/batch/entities`, [
          { entityType: name, externalId: 'proto', data: {} },
        ]);
        expect(batch.status).toBe(200);
        expect(batch.body.data).toMatchObject({
          succeeded: 0,
          failed: 1,
          errors: [{ code: 'VALIDATION_FAILED' }],
        });
        expect((await op.client.get(`${P}/settings`)).body.data.template.id).toBe('tpl_igaming');
      },
    );
  });

  describe('externalIds', () => {
    it('400 for an externalId over 255 characters or with control characters (CR, LF, tab), in the path or the body', async () => {
      await expectNothingStored(async () => {
        const long = 'a'.repeat(256);
        expectError(
          await op.client.post(`${P}/entities`, {
            entityType: 'player',
            externalId: long,
            data: { email: 'l@x.io' },
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await op.client.post(`${P}/entities/${long}/events`, { eventType: 'session', data: {} }),
          400,
          'VALIDATION_FAILED',
        );
        for (const bad of ['a\r\nSet-Cookie: x=1', 'a\tb', 'a\u007f']) {
          expectError(
            await op.client.post(`${P}/entities`, {
              entityType: 'player',
              externalId: bad,
              data: { email: 'c@x.io' },
            }),
            400,
            'VALIDATION_FAILED',
          );
          const res = await op.client.get(`${P}/entities/${encodeURIComponent(bad)}`);
          expectError(res, 400, 'VALIDATION_FAILED');
          expect(res.headers.get('set-cookie')).toBeNull();
        }
      });
    });

    it('4xx (not 500) for a malformed percent-encoding in the path', async () => {
      await expectNothingStored(async () => {
        for (const path of [
          `${P}/entities/%E0%A4%A`,
          `${P}/entities/%ZZ/events`,
          `${P}/entities/player_1/state/%C0%AF`,
        ]) {
          const res = await raw(stack.baseUrl, request('GET', path, {}));
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(res.body).toMatchObject({ success: false, error: { code: expect.any(String) } });
        }
      });
    });

    // Valid but odd: these are legal ids, so they are stored, and read back byte for byte.
    const odd = [
      'a/b',
      '..',
      '.',
      '100%',
      '%2F',
      'a+b c',
      'joueur_élodie',
      'لاعب_٣',
      '\u202Eevil\u202C',
      '🎰player🃏',
      'e\u0301',
      'x'.repeat(255),
      ...SQL,
    ];
    it.each(odd.map((id) => [JSON.stringify(id).slice(0, 40), id]))(
      'stores %s exactly and reads it back the same, by path and in the body',
      async (_label, externalId) => {
        const created = await op.client.post(`${P}/entities`, {
          entityType: 'player',
          externalId,
          data: { email: 'o@x.io' },
        });
        expect(created.status).toBe(201);
        expect(created.body.data.externalId).toBe(externalId);
        // The raw path keeps `.` and `..` as sent (encodeURIComponent leaves them alone, %2E does not).
        const path = `${P}/entities/${encodeURIComponent(externalId).replace(/\./g, '%2E')}`;
        const read = await raw(stack.baseUrl, request('GET', path, {}));
        expect(read.status).toBe(200);
        expect(read.body.data.externalId).toBe(externalId);
        const ev = await raw(
          stack.baseUrl,
          request('POST', `${path}/events`, {}, JSON.stringify({ eventType: 'session', data: {} })),
        );
        expect(ev.status).toBe(201);
        const { rows } = await stack.db.pool.query(
          `select external_id from events where id = $1 and operator_id = $2`,
          [ev.body.data.id, op.operatorId],
        );
        expect(Buffer.from(rows[0].external_id).equals(Buffer.from(externalId))).toBe(true);
      },
    );
  });

  describe('SQL injection in every parameter', () => {
    it.each(SQL.map((s) => [s]))(
      '%s: a 4xx or an empty answer, the schema intact, nothing of the other operator seen',
      async (sql) => {
        const enc = encodeURIComponent(sql);
        await expectNothingStored(async () => {
          expectError(await op.client.post(events, { eventType: sql, data: {} }), 400, 'VALIDATION_FAILED');
          expectError(
            await op.client.put(`${P}/entities/player_1/state/${enc}`, { value: 1 }),
            400,
            'VALIDATION_FAILED',
          );
          expectError(await op.client.get(`${P}/entities/player_1/state/${enc}`), 400, 'VALIDATION_FAILED');
          expectError(await op.client.get(`${P}/batch/jobs/${enc}`), 404, 'NOT_FOUND');
          expectError(await op.client.get(`${P}/events/${enc}/fanout`), 400, 'VALIDATION_FAILED');
          expectError(await op.client.get(`${events}?cursor=${enc}`), 400, 'VALIDATION_FAILED');
          expectError(await op.client.get(`${events}?since=${enc}`), 400, 'VALIDATION_FAILED');
          expectError(await op.client.get(`${events}?limit=${enc}`), 400, 'VALIDATION_FAILED');
          expectError(await op.client.put(`${P}/settings`, { templateId: sql }), 400, 'VALIDATION_FAILED');
          expectError(
            await op.client.post(events, { eventType: 'session', data: {} }, { 'Idempotency-Key': sql }),
            400,
            'VALIDATION_FAILED',
          );
          // A filter that matches nothing is a correct empty page, not an error.
          const byType = await op.client.get(`${events}?type=${enc}`);
          expect(byType.status).toBe(200);
          expect(byType.body.data).toEqual([]);
          // The odd-id tests above stored this id for `op`: the other operator must not see it.
          expectError(await other.client.get(`${P}/entities/${enc}`), 404, 'ENTITY_NOT_FOUND');
        });
        // The server saw this file's statements (the listing above took the text as its type
        // filter), and none of them ran the injected SQL: one that did would be recorded with
        // its function and keywords, while literals and parameters are recorded as $n.
        const received = await statementsReceived();
        expect(received.some((q) => q.includes('events_archive'))).toBe(true);
        expect(received.filter((q) => RAN_INJECTED_SQL.test(q))).toEqual([]);
        const tables = await stack.db.pool.query(
          `select count(*)::int n from pg_tables where tablename in ('events','entities','operators')`,
        );
        expect(tables.rows[0].n).toBe(3);
      },
    );
  });

  it('sees a statement that ran pg_sleep or DROP TABLE when one does (the check above can fail)', async () => {
    // In a database of its own: this file's must stay free of them for the check above.
    const scratch = await createTestDatabase();
    try {
      await scratch.pool.query('select pg_sleep(0)');
      await scratch.pool.query('create table doomed (id int); drop table doomed');
      const received = await statementsReceived(new URL(scratch.url).pathname.slice(1));
      expect(received.filter((q) => RAN_INJECTED_SQL.test(q))).toHaveLength(2);
      // A value sent as a parameter or a literal is recorded as $n, never as its text.
      await scratch.pool.query('select $1::text as v', ['1); select pg_sleep(5); --']);
      await scratch.pool.query("select 'x''; DROP TABLE events; --' as v");
      expect(
        (await statementsReceived(new URL(scratch.url).pathname.slice(1))).filter((q) =>
          RAN_INJECTED_SQL.test(q),
        ),
      ).toHaveLength(2);
    } finally {
      await scratch.drop();
    }
  });

  describe('header injection', () => {
    it('400 in the envelope for CR, LF or NUL inside an Idempotency-Key or X-Request-Id, nothing stored', async () => {
      const body = JSON.stringify({ eventType: 'session', data: {} });
      await expectNothingStored(async () => {
        for (const value of ['abc\rX-Injected: 1', 'abc\nX-Injected: 1', 'ab\u0000c']) {
          for (const header of ['Idempotency-Key', 'X-Request-Id']) {
            const res = await raw(stack.baseUrl, request('POST', events, { [header]: value }, body));
            expect(res.status).toBe(400);
            expect(res.body).toEqual({
              success: false,
              error: { code: 'VALIDATION_FAILED', message: expect.any(String) },
            });
            expect(res.headers).not.toMatch(/X-Injected/i);
          }
        }
      });
    });

    it('an Idempotency-Key with spaces, non-ASCII or over 255 characters is 400; a percent-encoded CRLF is only text', async () => {
      await expectNothingStored(async () => {
        for (const key of ['has space', 'caf\u00e9', 'k'.repeat(256)]) {
          const res = await raw(
            stack.baseUrl,
            request(
              'POST',
              events,
              { 'Idempotency-Key': key },
              JSON.stringify({ eventType: 'session', data: {} }),
            ),
          );
          expect(res.status).toBe(400);
          expect(res.body.error.code).toBe('VALIDATION_FAILED');
        }
      });
      const first = await op.client.post(
        events,
        { eventType: 'session', data: {} },
        { 'Idempotency-Key': 'k%0d%0aX-Injected:1' },
      );
      expect(first.status).toBe(201);
      expect(first.headers.get('x-injected')).toBeNull();
      const again = await op.client.post(
        events,
        { eventType: 'session', data: {} },
        { 'Idempotency-Key': 'k%0d%0aX-Injected:1' },
      );
      expect(again.status).toBe(200);
      expect(again.body.data).toEqual({ id: first.body.data.id, action: 'duplicate' });
    });

    it('every answer, refusals included, carries the security headers', async () => {
      for (const res of [
        await op.client.get(`${P}/settings`),
        await op.client.post(events, '{'),
        await api(stack.baseUrl).get(`${P}/settings`),
      ]) {
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      }
    });

    it('does not echo an unsafe X-Request-Id: a fresh id is used instead', async () => {
      const res = await op.client.get(`${P}/settings`, { 'X-Request-Id': '<script>alert(1)</script>' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });
});
