import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { ISO_MS, expectError } from '../support/expect';

describe('entity states', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  const state = (key: string) => `${P}/entities/player_1/state/${key}`;
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('PUT with { value } stores the value and answers { stateKey, value }', async () => {
    const res = await op.client.put(state('balance'), { value: 250.75 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: { stateKey: 'balance', value: 250.75 } });
  });

  it('PUT with a bare JSON value stores it as is (string, object, null)', async () => {
    expect((await op.client.put(state('kyc_status'), '"verified"')).body.data).toEqual({
      stateKey: 'kyc_status',
      value: 'verified',
    });
    const tier = { tier: 'gold', since: '2026-01-01' };
    expect((await op.client.put(state('loyalty_tier'), tier)).body.data).toEqual({
      stateKey: 'loyalty_tier',
      value: tier,
    });
    expect((await op.client.put(state('risk_score'), 'null')).body.data).toEqual({
      stateKey: 'risk_score',
      value: null,
    });
    expect((await op.client.get(state('loyalty_tier'))).body.data.value).toEqual(tier);
  });

  it('PUT again replaces the value', async () => {
    await op.client.put(state('balance'), { value: 10 });
    await op.client.put(state('balance'), { value: 20 });
    expect((await op.client.get(state('balance'))).body.data.value).toBe(20);
  });

  it('GET one answers { stateKey, value, updatedAt }', async () => {
    await op.client.put(state('balance'), { value: 42 });
    const res = await op.client.get(state('balance'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: { stateKey: 'balance', value: 42, updatedAt: expect.stringMatching(ISO_MS) },
    });
  });

  it('GET all lists every set value by key', async () => {
    await newPlayer(op.client, 'player_2');
    await op.client.put(`${P}/entities/player_2/state/risk_score`, { value: 7 });
    await op.client.put(`${P}/entities/player_2/state/balance`, { value: 1 });
    const res = await op.client.get(`${P}/entities/player_2/state`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: [
        { stateKey: 'balance', value: 1, updatedAt: expect.stringMatching(ISO_MS) },
        { stateKey: 'risk_score', value: 7, updatedAt: expect.stringMatching(ISO_MS) },
      ],
    });
  });

  it('GET all answers an empty list for an entity with no state', async () => {
    await newPlayer(op.client, 'player_3');
    expect((await op.client.get(`${P}/entities/player_3/state`)).body).toEqual({ success: true, data: [] });
  });

  it('404 NOT_FOUND for a known key that is not set', async () => {
    await newPlayer(op.client, 'player_4');
    expectError(await op.client.get(`${P}/entities/player_4/state/kyc_status`), 404, 'NOT_FOUND');
  });

  it('400 VALIDATION_FAILED for a key outside the template, listing the allowed keys', async () => {
    const put = await op.client.put(state('favourite_colour'), { value: 'blue' });
    expectError(put, 400, 'VALIDATION_FAILED');
    expect(put.body.error.message).toContain('balance, kyc_status, risk_score, loyalty_tier, sof_status');
    expectError(await op.client.get(state('favourite_colour')), 400, 'VALIDATION_FAILED');
  });

  it('404 ENTITY_NOT_FOUND for an unknown entity, reading or writing', async () => {
    expectError(
      await op.client.put(`${P}/entities/ghost/state/balance`, { value: 1 }),
      404,
      'ENTITY_NOT_FOUND',
    );
    expectError(await op.client.get(`${P}/entities/ghost/state/balance`), 404, 'ENTITY_NOT_FOUND');
    expectError(await op.client.get(`${P}/entities/ghost/state`), 404, 'ENTITY_NOT_FOUND');
  });

  it('400 VALIDATION_FAILED for a missing body', async () => {
    expectError(await op.client.put(state('balance')), 400, 'VALIDATION_FAILED');
  });

  it('400 VALIDATION_FAILED (not 500) for a value Postgres cannot store', async () => {
    expectError(await op.client.put(state('kyc_status'), { value: 'bad\u0000' }), 400, 'VALIDATION_FAILED');
  });
});
