import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { JOB_ID, expectError } from '../support/expect';

const error = (index: number, externalId: string | null, code: string) => ({
  index,
  externalId,
  code,
  message: expect.any(String),
});

describe('POST /batch/entities and /batch/states', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('upserts the valid entities, encrypting PII, and reports the invalid ones by index', async () => {
    await newPlayer(op.client, 'existing', { first_name: 'Old' });
    const res = await op.client.post(`${P}/batch/entities`, [
      {
        entityType: 'player',
        externalId: 'new-1',
        data: { email: 'new-1@example.com', first_name: 'Grace', country: 'GB' },
      },
      {
        entityType: 'player',
        externalId: 'existing',
        data: { email: 'existing@example.com', first_name: 'New' },
      },
      { entityType: 'player', externalId: 'no-email', data: { first_name: 'X' } },
      { entityType: 'wizard', externalId: 'w', data: {} },
      { entityType: 'game', data: { name: 'Roulette' } },
      { entityType: 'player', externalId: 'new-1', data: { email: 'again@example.com' } },
      { entityType: 'game', externalId: 'roulette', data: { name: 'European Roulette', rtp: 97.3 } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: {
        jobId: expect.stringMatching(JOB_ID),
        succeeded: 3,
        failed: 4,
        errors: [
          error(2, 'no-email', 'VALIDATION_FAILED'),
          error(3, 'w', 'VALIDATION_FAILED'),
          error(4, null, 'MISSING_FIELDS'),
          error(5, 'new-1', 'VALIDATION_FAILED'),
        ],
      },
    });
    expect(res.body.data.errors[3].message).toContain('index 0');

    const created = await op.client.get(`${P}/entities/new-1`);
    expect(created.body.data).toMatchObject({
      entityType: 'player',
      data: { email: 'new-1@example.com', first_name: 'Grace', country: 'GB' },
    });
    const updated = await op.client.get(`${P}/entities/existing`);
    expect(updated.body.data.data.first_name).toBe('New');
    expect((await op.client.get(`${P}/entities/roulette`)).body.data.data).toEqual({
      name: 'European Roulette',
      rtp: 97.3,
    });
    expectError(await op.client.get(`${P}/entities/no-email`), 404, 'ENTITY_NOT_FOUND');

    const { rows } = await stack.db.pool.query(
      'select data, pii from entities where operator_id = $1 and external_id = $2',
      [op.operatorId, 'new-1'],
    );
    expect(rows[0].data).toEqual({ country: 'GB' });
    expect(Buffer.isBuffer(rows[0].pii)).toBe(true);
    expect(rows[0].pii.includes('new-1@example.com')).toBe(false);
    expect(rows[0].pii.includes('Grace')).toBe(false);
  });

  it('re-creates a deleted entity afresh, with a new id and only the new data', async () => {
    await newPlayer(op.client, 'recycled');
    const before = (await op.client.get(`${P}/entities/recycled`)).body.data.id;
    await op.client.delete(`${P}/entities/recycled`);
    const res = await op.client.post(`${P}/batch/entities`, [
      { entityType: 'player', externalId: 'recycled', data: { email: 'back@example.com' } },
    ]);
    expect(res.body.data).toMatchObject({ succeeded: 1, failed: 0 });
    const after = await op.client.get(`${P}/entities/recycled`);
    expect(after.body.data.id).not.toBe(before);
    expect(after.body.data.data).toEqual({ email: 'back@example.com' });
  });

  it('sets the valid state values and reports unknown keys, unknown entities, missing values and repeats', async () => {
    await newPlayer(op.client, 's1');
    const res = await op.client.post(`${P}/batch/states`, [
      { externalId: 's1', key: 'balance', value: 120.5 },
      { externalId: 's1', key: 'kyc_status', value: null },
      { externalId: 's1', key: 'favourite_colour', value: 'blue' },
      { externalId: 'ghost', key: 'balance', value: 1 },
      { externalId: 's1', key: 'risk_score' },
      { externalId: 's1', key: 'balance', value: 99 },
      { externalId: 's1', key: 'loyalty_tier', value: { tier: 'gold' } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      jobId: expect.stringMatching(JOB_ID),
      succeeded: 3,
      failed: 4,
      errors: [
        error(2, 's1', 'VALIDATION_FAILED'),
        error(3, 'ghost', 'ENTITY_NOT_FOUND'),
        error(4, 's1', 'MISSING_FIELDS'),
        error(5, 's1', 'VALIDATION_FAILED'),
      ],
    });
    const states = await op.client.get(`${P}/entities/s1/state`);
    expect(states.body.data.map((s: { stateKey: string; value: unknown }) => [s.stateKey, s.value])).toEqual([
      ['balance', 120.5],
      ['kyc_status', null],
      ['loyalty_tier', { tier: 'gold' }],
    ]);
    const job = await op.client.get(`${P}/batch/jobs/${res.body.data.jobId}`);
    expect(job.body.data).toMatchObject({
      kind: 'states',
      total: 7,
      succeeded: 3,
      failed: 4,
      errors: res.body.data.errors,
    });
  });

  it('refuses more than 1,000 entities or 1,000 states with 400 VALIDATION_FAILED', async () => {
    const entities = Array.from({ length: 1001 }, (_, i) => ({
      entityType: 'game',
      externalId: `g${i}`,
      data: {},
    }));
    expectError(await op.client.post(`${P}/batch/entities`, entities), 400, 'VALIDATION_FAILED');
    const states = Array.from({ length: 1001 }, (_, i) => ({ externalId: 's1', key: 'balance', value: i }));
    expectError(await op.client.post(`${P}/batch/states`, states), 400, 'VALIDATION_FAILED');
    expectError(
      await op.client.post(`${P}/batch/states`, { externalId: 's1', key: 'balance', value: 1 }),
      400,
      'VALIDATION_FAILED',
    );
    const { rows } = await stack.db.pool.query(
      "select count(*)::int as n from entities where external_id like 'g%'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('accepts exactly 1,000 entities in one request', async () => {
    const entities = Array.from({ length: 1000 }, (_, i) => ({
      entityType: 'player',
      externalId: `bulk-${i}`,
      data: { email: `bulk-${i}@example.com`, vip_level: i },
    }));
    const res = await op.client.post(`${P}/batch/entities`, entities);
    expect(res.body.data).toMatchObject({ succeeded: 1000, failed: 0 });
    expect((await op.client.get(`${P}/entities/bulk-999`)).body.data.data).toEqual({
      email: 'bulk-999@example.com',
      vip_level: 999,
    });
  });
});
