import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { expectError } from '../support/expect';

describe('Idempotency-Key on events', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const events = `${P}/entities/player_1/events`;
  const deposit = {
    eventType: 'transaction',
    data: { type: 'deposit', amount: 100, currency: 'GBP', reference: 'txn_1' },
  };
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const countEvents = async (reference: string) =>
    (
      await stack.db.pool.query(
        "select count(*)::int as n from events where operator_id = $1 and data->>'reference' = $2",
        [op.operatorId, reference],
      )
    ).rows[0].n as number;
  const withRef = (reference: string) => ({ ...deposit, data: { ...deposit.data, reference } });

  it('a repeat answers 200 { id, action: "duplicate" } with Idempotent-Replayed: true and records nothing', async () => {
    const key = { 'Idempotency-Key': 'repeat-1' };
    const first = await op.client.post(events, withRef('repeat-1'), key);
    expect(first.status).toBe(201);
    const again = await op.client.post(events, withRef('repeat-1'), key);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ success: true, data: { id: first.body.data.id, action: 'duplicate' } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await countEvents('repeat-1')).toBe(1);
  });

  it('treats the same body with its keys reordered as the same request', async () => {
    const key = { 'Idempotency-Key': 'reorder-1' };
    const first = await op.client.post(events, withRef('reorder-1'), key);
    const reordered = JSON.stringify({
      data: { reference: 'reorder-1', currency: 'GBP', amount: 100, type: 'deposit' },
      eventType: 'transaction',
    });
    const again = await op.client.post(events, reordered, key);
    expect(again.body.data).toEqual({ id: first.body.data.id, action: 'duplicate' });
  });

  it('422 IDEMPOTENCY_KEY_REUSED for the same key with another body or another entity', async () => {
    const key = { 'Idempotency-Key': 'reuse-1' };
    expect((await op.client.post(events, withRef('reuse-1'), key)).status).toBe(201);
    expectError(await op.client.post(events, withRef('reuse-1-other'), key), 422, 'IDEMPOTENCY_KEY_REUSED');
    await newPlayer(op.client, 'player_2');
    expectError(
      await op.client.post(`${P}/entities/player_2/events`, withRef('reuse-1'), key),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(await countEvents('reuse-1')).toBe(1);
    expect(await countEvents('reuse-1-other')).toBe(0);
  });

  it('50 parallel requests with one key record exactly one event and start exactly one workflow', async () => {
    await newPlayer(op.client, 'parallel');
    const url = `${P}/entities/parallel/events`;
    const key = { 'Idempotency-Key': 'parallel-1' };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => op.client.post(url, withRef('parallel-1'), key)),
    );
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    const id = created[0]!.body.data.id as string;
    const duplicates = results.filter((r) => r.status === 200);
    expect(duplicates).toHaveLength(49);
    for (const d of duplicates) expect(d.body.data).toEqual({ id, action: 'duplicate' });
    expect(await countEvents('parallel-1')).toBe(1);

    const workflowId = `entity_event.transaction:${id}`;
    const description = await eventually(() => stack.temporal.workflow.getHandle(workflowId).describe());
    expect(description.searchAttributes).toMatchObject({
      OperatorId: [op.operatorId],
      EntityExternalId: ['parallel'],
    });
    const query = `OperatorId = '${op.operatorId}' AND EntityExternalId = 'parallel' AND InternalEvent = 'entity_event.transaction'`;
    const listed = await eventually(async () => {
      const ids: string[] = [];
      for await (const w of stack.temporal.workflow.list({ query })) ids.push(w.workflowId);
      return ids.length > 0 ? ids : undefined;
    });
    expect(listed).toEqual([workflowId]);
    const { rows } = await stack.db.pool.query(
      "select count(*)::int as n from fanout_outbox where payload->>'externalId' = 'parallel' and internal_event like 'entity_event.%'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('once expired (24 h), the key is free again and records a new event', async () => {
    const key = { 'Idempotency-Key': 'expiry-1' };
    const first = await op.client.post(events, withRef('expiry-1'), key);
    expect(first.status).toBe(201);
    const { rows } = await stack.db.pool.query(
      "select extract(epoch from expires_at - created_at)::int as ttl from idempotency_keys where operator_id = $1 and idem_key = 'expiry-1'",
      [op.operatorId],
    );
    expect(rows[0].ttl).toBe(24 * 3600);
    await stack.db.pool.query(
      "update idempotency_keys set expires_at = now() - interval '1 second' where operator_id = $1 and idem_key = 'expiry-1'",
      [op.operatorId],
    );
    const second = await op.client.post(events, withRef('expiry-1'), key);
    expect(second.status).toBe(201);
    expect(second.body.data.id).not.toBe(first.body.data.id);
    expect(await countEvents('expiry-1')).toBe(2);
    // ...and is held again from then on.
    expect((await op.client.post(events, withRef('expiry-1'), key)).body.data).toEqual({
      id: second.body.data.id,
      action: 'duplicate',
    });
  });

  it('an expired key may be reused with a different body', async () => {
    const key = { 'Idempotency-Key': 'expiry-2' };
    expect((await op.client.post(events, withRef('expiry-2a'), key)).status).toBe(201);
    await stack.db.pool.query(
      "update idempotency_keys set expires_at = now() - interval '1 second' where operator_id = $1 and idem_key = 'expiry-2'",
      [op.operatorId],
    );
    expect((await op.client.post(events, withRef('expiry-2b'), key)).status).toBe(201);
  });

  it('400 VALIDATION_FAILED for a key that is not printable ASCII or is too long', async () => {
    expectError(
      await op.client.post(events, withRef('bad-key'), { 'Idempotency-Key': 'x'.repeat(256) }),
      400,
      'VALIDATION_FAILED',
    );
    expectError(
      await op.client.post(events, withRef('bad-key'), { 'Idempotency-Key': 'has space' }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await countEvents('bad-key')).toBe(0);
  });
});

/**
 * A key is "in flight" when a request holding it was written in the same statement as the
 * caller's but recorded nothing: the caller's request was not written either, and nobody
 * holds the key, so the answer is 409 and a retry succeeds. One statement at a time
 * (RECORD_GROUP_CONCURRENCY=1) and a first statement held on another key's lock make the next
 * two requests share one statement, in the order they were sent.
 */
describe('409 IDEMPOTENCY_CONFLICT for a key in flight', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    stack = await startStack({ relay: false, configOverrides: { RECORD_GROUP_CONCURRENCY: '1' } });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 409 to the request that shared its statement with a twin key that recorded nothing; the retry records it', async () => {
    const events = (externalId: string) => `${P}/entities/${externalId}/events`;
    const session = (action: string) => ({ eventType: 'session', data: { action } });
    const blocker = await stack.db.pool.connect();
    try {
      // Another transaction holds the key "held" (uncommitted): the first statement waits on it.
      await blocker.query('begin');
      await blocker.query(
        `insert into idempotency_keys (operator_id, scope, idem_key, request_hash, resource_id, expires_at)
         values ($1, 'event', 'held', 'x', 'eev_0000000000000000', now() + interval '1 hour')`,
        [op.operatorId],
      );
      const first = op.client.post(events('player_1'), session('login'), { 'Idempotency-Key': 'held' });
      await waitForLockWait(stack);
      const ghost = op.client.post(events('nobody'), session('login'), { 'Idempotency-Key': 'twin' });
      await new Promise((r) => setTimeout(r, 300));
      const real = op.client.post(events('player_1'), session('logout'), { 'Idempotency-Key': 'twin' });
      await new Promise((r) => setTimeout(r, 300));
      await blocker.query('rollback');
      expect((await first).status).toBe(201);
      expectError(await ghost, 404, 'ENTITY_NOT_FOUND');
      expectError(await real, 409, 'IDEMPOTENCY_CONFLICT');
    } finally {
      blocker.release();
    }
    const { rows } = await stack.db.pool.query(
      "select count(*)::int as n from idempotency_keys where operator_id = $1 and idem_key = 'twin'",
      [op.operatorId],
    );
    expect(rows[0].n).toBe(0);
    const retry = await op.client.post(events('player_1'), session('logout'), { 'Idempotency-Key': 'twin' });
    expect(retry.status).toBe(201);
    const again = await op.client.post(events('player_1'), session('logout'), { 'Idempotency-Key': 'twin' });
    expect(again.body.data).toEqual({ id: retry.body.data.id, action: 'duplicate' });
  });
});

/** Until a statement of this stack's database waits on a lock (the first request's insert). */
async function waitForLockWait(stack: TestStack, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await stack.db.pool.query(
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if (rows[0].n > 0) return;
    if (Date.now() > deadline) throw new Error('no statement waited on the held key');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Workflow starts and visibility are asynchronous to the API's answer. */
async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError' || Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
