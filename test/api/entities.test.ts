import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { ISO_MS, expectError } from '../support/expect';

const player = {
  email: 'ada@example.com',
  first_name: 'Ada',
  last_name: 'Lovelace',
  phone: '+447700900123',
  date_of_birth: '1990-12-10',
  country: 'GB',
  currency: 'GBP',
  status: 'active',
  vip_level: 2,
};
const PII = ['email', 'first_name', 'last_name', 'phone', 'date_of_birth'];

describe('entities', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const row = async (externalId: string) =>
    (
      await stack.db.pool.query<{
        data: Record<string, unknown>;
        pii: Buffer | null;
        deleted_at: Date | null;
      }>('select data, pii, deleted_at from entities where operator_id = $1 and external_id = $2', [
        op.operatorId,
        externalId,
      ])
    ).rows[0]!;

  it('creates with 201 and action "created", then updates with 200 and action "updated", keeping the id', async () => {
    const body = { entityType: 'player', externalId: 'player_12345', data: player };
    const created = await op.client.post(`${P}/entities`, body);
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      success: true,
      data: {
        id: expect.stringMatching(/^ent_[0-9a-f]{16}$/),
        externalId: 'player_12345',
        entityType: 'player',
        action: 'created',
      },
    });
    const updated = await op.client.post(`${P}/entities`, { ...body, data: { ...player, vip_level: 3 } });
    expect(updated.status).toBe(200);
    expect(updated.body.data).toEqual({ ...created.body.data, action: 'updated' });
  });

  it('GET returns the entity with its PII decrypted and extra fields kept as sent', async () => {
    await op.client.post(`${P}/entities`, {
      entityType: 'player',
      externalId: 'p-get',
      data: { ...player, favourite_game: 'roulette' },
    });
    const res = await op.client.get(`${P}/entities/p-get`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      success: true,
      data: {
        id: expect.stringMatching(/^ent_/),
        externalId: 'p-get',
        entityType: 'player',
        data: { ...player, favourite_game: 'roulette' },
        createdAt: expect.stringMatching(ISO_MS),
        updatedAt: expect.stringMatching(ISO_MS),
      },
    });
  });

  it('stores no PII in plaintext: the pii column is ciphertext and data holds only the other fields', async () => {
    await op.client.post(`${P}/entities`, { entityType: 'player', externalId: 'p-enc', data: player });
    const { data, pii } = await row('p-enc');
    expect(Object.keys(data).sort()).toEqual(['country', 'currency', 'status', 'vip_level']);
    expect(pii).toBeInstanceOf(Buffer);
    for (const field of PII) expect(pii!.includes(String(player[field as keyof typeof player]))).toBe(false);
    const text = JSON.stringify(data);
    expect(text).not.toContain('ada@example.com');
  });

  it('DELETE erases the PII: GET answers ENTITY_NOT_FOUND, pii is null and no PII field remains in data', async () => {
    await op.client.post(`${P}/entities`, { entityType: 'player', externalId: 'p-del', data: player });
    await op.client.put(`${P}/entities/p-del/state/kyc_status`, { value: 'verified' });
    const res = await op.client.delete(`${P}/entities/p-del`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, data: { externalId: 'p-del', deleted: true } });
    expectError(await op.client.get(`${P}/entities/p-del`), 404, 'ENTITY_NOT_FOUND');
    expectError(await op.client.get(`${P}/entities/p-del/events`), 404, 'ENTITY_NOT_FOUND');
    expectError(await op.client.get(`${P}/entities/p-del/state`), 404, 'ENTITY_NOT_FOUND');
    expectError(await op.client.delete(`${P}/entities/p-del`), 404, 'ENTITY_NOT_FOUND');
    const after = await row('p-del');
    expect(after.deleted_at).toBeInstanceOf(Date);
    expect(after.pii).toBeNull();
    for (const field of PII) expect(after.data).not.toHaveProperty(field);
    const { rows } = await stack.db.pool.query(
      'select count(*)::int as n from entity_states where operator_id = $1 and external_id = $2',
      [op.operatorId, 'p-del'],
    );
    expect(rows[0].n).toBe(0);
  });

  it('a deleted entity written again is created afresh (201, new id, none of the old data)', async () => {
    const first = await newPlayer(op.client, 'p-again', { first_name: 'Old' });
    await op.client.delete(`${P}/entities/p-again`);
    const res = await op.client.post(`${P}/entities`, {
      entityType: 'player',
      externalId: 'p-again',
      data: { email: 'new@example.com' },
    });
    expect(res.status).toBe(201);
    expect(res.body.data.action).toBe('created');
    expect(res.body.data.id).not.toBe(first.id);
    expect((await op.client.get(`${P}/entities/p-again`)).body.data.data).toEqual({
      email: 'new@example.com',
    });
  });

  it('404 ENTITY_NOT_FOUND for GET or DELETE of an unknown externalId', async () => {
    expectError(await op.client.get(`${P}/entities/nobody`), 404, 'ENTITY_NOT_FOUND');
    expectError(await op.client.delete(`${P}/entities/nobody`), 404, 'ENTITY_NOT_FOUND');
  });

  it('400 MISSING_FIELDS for an absent entityType, externalId or data', async () => {
    const res = await op.client.post(`${P}/entities`, { data: player });
    expectError(res, 400, 'MISSING_FIELDS');
    expect(res.body.error.message).toBe('Missing required fields: entityType, externalId');
    expectError(
      await op.client.post(`${P}/entities`, { entityType: 'player', externalId: 'x' }),
      400,
      'MISSING_FIELDS',
    );
  });

  it('400 VALIDATION_FAILED for an unknown entityType, a player without email, or a bad country', async () => {
    const unknown = await op.client.post(`${P}/entities`, {
      entityType: 'wizard',
      externalId: 'w',
      data: {},
    });
    expectError(unknown, 400, 'VALIDATION_FAILED');
    expect(unknown.body.error.message).toContain('Allowed types: player, operator, game');
    const noEmail = await op.client.post(`${P}/entities`, {
      entityType: 'player',
      externalId: 'x',
      data: { first_name: 'X' },
    });
    expectError(noEmail, 400, 'VALIDATION_FAILED');
    expect(noEmail.body.error.details).toEqual([{ field: 'data.email', reason: 'is required' }]);
    const country = await op.client.post(`${P}/entities`, {
      entityType: 'player',
      externalId: 'x',
      data: { email: 'x@example.com', country: 'gbr' },
    });
    expectError(country, 400, 'VALIDATION_FAILED');
    expectError(await op.client.get(`${P}/entities/x`), 404, 'ENTITY_NOT_FOUND');
  });

  it('replays the original response for a repeated Idempotency-Key, and refuses the key for another body', async () => {
    const body = { entityType: 'player', externalId: 'p-idem', data: { email: 'idem@example.com' } };
    const key = { 'Idempotency-Key': 'entity-create-1' };
    const first = await op.client.post(`${P}/entities`, body, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await op.client.post(`${P}/entities`, body, key);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await op.client.post(
      `${P}/entities`,
      { ...body, data: { email: 'other@example.com' } },
      key,
    );
    expectError(other, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect((await op.client.get(`${P}/entities/p-idem`)).body.data.data.email).toBe('idem@example.com');
  });
  it('20 parallel creates with one Idempotency-Key: one writes (201), the rest replay its answer, one entity stored', async () => {
    const body = { entityType: 'player', externalId: 'p-parallel', data: { email: 'parallel@example.com' } };
    const key = { 'Idempotency-Key': 'entity-parallel-1' };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => op.client.post(`${P}/entities`, body, key)),
    );
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 201));
    const original = results.filter((r) => r.headers.get('idempotent-replayed') === null);
    expect(original).toHaveLength(1);
    expect(original[0]!.body.data).toMatchObject({ externalId: 'p-parallel', action: 'created' });
    const replays = results.filter((r) => r.headers.get('idempotent-replayed') === 'true');
    expect(replays).toHaveLength(19);
    for (const r of replays) expect(r.body).toEqual(original[0]!.body);
    const { rows } = await stack.db.pool.query(
      'select id from entities where operator_id = $1 and external_id = $2',
      [op.operatorId, 'p-parallel'],
    );
    expect(rows).toEqual([{ id: original[0]!.body.data.id }]);
  });
});
