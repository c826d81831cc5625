import { randomBytes } from 'node:crypto';
import { createKey, revokeKey, suspendOperator } from '../../core/admin/operators';
import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P, api } from '../support/http';
import { expectError } from '../support/expect';

/** 401 UNAUTHORIZED for every way a key can be wrong, and 429 RATE_LIMITED from the error table. */
describe('authentication and the request budget', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const events = `${P}/entities/player_1/events`;
  const session = { eventType: 'session', data: { action: 'login' } };
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const expectUnauthorized = async (headers: Record<string, string>) => {
    const anonymous = api(stack.baseUrl);
    const res = await anonymous.post(events, session, headers);
    expectError(res, 401, 'UNAUTHORIZED');
    expectError(await anonymous.get(events, headers), 401, 'UNAUTHORIZED');
  };

  it('accepts a valid key', async () => {
    expect((await op.client.post(events, session)).status).toBe(201);
  });

  it('401 UNAUTHORIZED without an Authorization header', async () => {
    await expectUnauthorized({});
  });

  it('401 UNAUTHORIZED for malformed headers and keys', async () => {
    await expectUnauthorized({ Authorization: op.apiKey });
    await expectUnauthorized({ Authorization: `Basic ${op.apiKey}` });
    await expectUnauthorized({ Authorization: 'Bearer ' });
    await expectUnauthorized({ Authorization: `Bearer ${op.apiKey.slice(0, -1)}` });
    await expectUnauthorized({ Authorization: `Bearer ${op.apiKey.toUpperCase()}` });
    await expectUnauthorized({ Authorization: `Bearer ${op.apiKey} extra` });
  });

  it('401 UNAUTHORIZED for a well-formed key that was never issued', async () => {
    await expectUnauthorized({ Authorization: `Bearer oh_live_${randomBytes(32).toString('hex')}` });
  });

  it('401 UNAUTHORIZED for a live key presented as a test key', async () => {
    await expectUnauthorized({ Authorization: `Bearer ${op.apiKey.replace('oh_live_', 'oh_test_')}` });
  });

  it('401 UNAUTHORIZED for a revoked key, while the operator’s other key keeps working', async () => {
    const other = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(other.client, 'player_1');
    const second = await createKey(stack.db.pool, other.operatorId, 'live');
    expect(await revokeKey(stack.db.pool, other.keyId)).toBe('revoked');
    await expectUnauthorized({ Authorization: `Bearer ${other.apiKey}` });
    expect((await api(stack.baseUrl, second.apiKey).post(events, session)).status).toBe(201);
  });

  it('401 UNAUTHORIZED for every key of a suspended operator', async () => {
    const other = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(other.client, 'player_1');
    const second = await createKey(stack.db.pool, other.operatorId, 'live');
    expect(await suspendOperator(stack.db.pool, other.operatorId)).toBe(true);
    await expectUnauthorized({ Authorization: `Bearer ${other.apiKey}` });
    await expectUnauthorized({ Authorization: `Bearer ${second.apiKey}` });
  });

  it('authenticates before anything else: a bad key on an unknown entity is 401, not 404', async () => {
    const res = await api(stack.baseUrl).post(`${P}/entities/nobody/events`, {});
    expectError(res, 401, 'UNAUTHORIZED');
  });

  it('429 RATE_LIMITED on the events endpoint past the operator’s budget, with Retry-After and resetAt', async () => {
    const limited = await newOperator(stack.db.pool, stack.baseUrl);
    // Set before its first request: a process keeps the budget it has leased until the window ends.
    await stack.db.pool.query('update operators set rate_limit_per_minute = 4 where id = $1', [
      limited.operatorId,
    ]);
    const windowLeft = 60_000 - (Date.now() % 60_000);
    if (windowLeft < 5_000) await new Promise((r) => setTimeout(r, windowLeft + 50)); // stay in one window
    await newPlayer(limited.client, 'player_1');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await limited.client.post(events, session)).status);
    expect(statuses).toEqual([201, 201, 201]);
    const res = await limited.client.post(events, session);
    expectError(res, 429, 'RATE_LIMITED');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.body.error.resetAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const { rows } = await stack.db.pool.query(
      'select count(*)::int as n from events where operator_id = $1',
      [limited.operatorId],
    );
    expect(rows[0].n).toBe(3);
  });
});
