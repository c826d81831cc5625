import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { expectError } from '../support/expect';

/** Operator B knows A's externalIds, event ids and job ids, and still can neither read nor change A's data. */
describe('tenant isolation', () => {
  let stack: TestStack;
  let a: Awaited<ReturnType<typeof newOperator>>;
  let b: Awaited<ReturnType<typeof newOperator>>;
  let eventId: string;
  let jobId: string;
  const deposit = { eventType: 'transaction', data: { type: 'deposit', amount: 50, currency: 'EUR' } };

  beforeAll(async () => {
    stack = await startStack();
    a = await newOperator(stack.db.pool, stack.baseUrl, { name: 'A' });
    b = await newOperator(stack.db.pool, stack.baseUrl, { name: 'B' });
    await newPlayer(a.client, 'shared_name', { first_name: 'Alice' });
    eventId = (await a.client.post(`${P}/entities/shared_name/events`, deposit)).body.data.id;
    await a.client.put(`${P}/entities/shared_name/state/kyc_status`, { value: 'verified' });
    jobId = (await a.client.post(`${P}/batch/events`, [{ externalId: 'shared_name', ...deposit }])).body.data
      .jobId;
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** A's data as A sees it, to compare before and after B's attempts. */
  const snapshot = async () => ({
    entity: (await a.client.get(`${P}/entities/shared_name`)).body,
    events: (await a.client.get(`${P}/entities/shared_name/events`)).body.data,
    states: (await a.client.get(`${P}/entities/shared_name/state`)).body.data,
  });

  it("B cannot read A's entity, events, states, job or event fan-out", async () => {
    expectError(await b.client.get(`${P}/entities/shared_name`), 404, 'ENTITY_NOT_FOUND');
    expectError(await b.client.get(`${P}/entities/shared_name/events`), 404, 'ENTITY_NOT_FOUND');
    expectError(await b.client.get(`${P}/entities/shared_name/state`), 404, 'ENTITY_NOT_FOUND');
    expectError(await b.client.get(`${P}/entities/shared_name/state/kyc_status`), 404, 'ENTITY_NOT_FOUND');
    expectError(await b.client.get(`${P}/batch/jobs/${jobId}`), 404, 'NOT_FOUND');
    expectError(await b.client.get(`${P}/events/${eventId}/fanout`), 404, 'NOT_FOUND');
    expect((await a.client.get(`${P}/batch/jobs/${jobId}`)).status).toBe(200);
    expect((await a.client.get(`${P}/events/${eventId}/fanout`)).status).toBe(200);
  });

  it("B cannot write to or delete A's entity, one by one or in batches", async () => {
    const before = await snapshot();
    expectError(await b.client.post(`${P}/entities/shared_name/events`, deposit), 404, 'ENTITY_NOT_FOUND');
    expectError(
      await b.client.put(`${P}/entities/shared_name/state/kyc_status`, { value: 'rejected' }),
      404,
      'ENTITY_NOT_FOUND',
    );
    expectError(await b.client.delete(`${P}/entities/shared_name`), 404, 'ENTITY_NOT_FOUND');
    const events = await b.client.post(`${P}/batch/events`, [{ externalId: 'shared_name', ...deposit }]);
    expect(events.body.data.errors).toEqual([
      expect.objectContaining({ index: 0, code: 'ENTITY_NOT_FOUND' }),
    ]);
    const states = await b.client.post(`${P}/batch/states`, [
      { externalId: 'shared_name', key: 'kyc_status', value: 'rejected' },
    ]);
    expect(states.body.data.errors).toEqual([
      expect.objectContaining({ index: 0, code: 'ENTITY_NOT_FOUND' }),
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it("B's entity with the same externalId is B's own: created, not updated, and A's is untouched", async () => {
    const before = await snapshot();
    const res = await b.client.post(`${P}/entities`, {
      entityType: 'player',
      externalId: 'shared_name',
      data: { email: 'bob@example.com', first_name: 'Bob' },
    });
    expect(res.status).toBe(201);
    expect(res.body.data.action).toBe('created');
    const batch = await b.client.post(`${P}/batch/entities`, [
      {
        entityType: 'player',
        externalId: 'shared_name',
        data: { email: 'bob2@example.com', first_name: 'Bob' },
      },
    ]);
    expect(batch.body.data.succeeded).toBe(1);
    expect((await b.client.post(`${P}/entities/shared_name/events`, deposit)).status).toBe(201);
    expect((await b.client.get(`${P}/entities/shared_name/events`)).body.count).toBe(1);
    expect((await b.client.get(`${P}/entities/shared_name/state`)).body.data).toEqual([]);
    expect((await b.client.delete(`${P}/entities/shared_name`)).status).toBe(200);
    expect(await snapshot()).toEqual(before);
    expect(before.entity.data.data).toMatchObject({ first_name: 'Alice', email: 'shared_name@example.com' });
  });

  it('the same Idempotency-Key used by two operators records two events', async () => {
    await newPlayer(b.client, 'b_player');
    const key = { 'Idempotency-Key': 'shared-key-1' };
    const ra = await a.client.post(`${P}/entities/shared_name/events`, deposit, key);
    const rb = await b.client.post(`${P}/entities/b_player/events`, deposit, key);
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect(ra.body.data.id).not.toBe(rb.body.data.id);
    // Each operator's own retry is a duplicate of its own event.
    const rb2 = await b.client.post(`${P}/entities/b_player/events`, deposit, key);
    expect(rb2.body.data).toEqual({ id: rb.body.data.id, action: 'duplicate' });
    const { rows } = await stack.db.pool.query(
      "select operator_id, count(*)::int as n from idempotency_keys where idem_key = 'shared-key-1' group by operator_id order by operator_id",
    );
    expect(rows).toHaveLength(2);
  });

  it('the same Idempotency-Key on the same entity body for two operators does not replay across them', async () => {
    await newPlayer(b.client, 'same_everything');
    await newPlayer(a.client, 'same_everything');
    const key = { 'Idempotency-Key': 'shared-key-2' };
    const ra = await a.client.post(`${P}/entities/same_everything/events`, deposit, key);
    const rb = await b.client.post(`${P}/entities/same_everything/events`, deposit, key);
    expect([ra.status, rb.status]).toEqual([201, 201]);
    expect(rb.body.data.action).toBeUndefined();
    expect(
      (await b.client.get(`${P}/entities/same_everything/events`)).body.data.map((e: { id: string }) => e.id),
    ).toEqual([rb.body.data.id]);
  });
  it("B can neither read nor replace A's webhook endpoint: B's GET and PUT touch only B's own", async () => {
    const secretA = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const setA = await a.client.put(`${P}/webhooks`, {
      url: 'https://a.example.com/hooks',
      secret: secretA,
      events: ['entity_event.*'],
    });
    expect(setA.status).toBe(200);
    expectError(await b.client.get(`${P}/webhooks`), 404, 'NOT_FOUND');
    const setB = await b.client.put(`${P}/webhooks`, { url: 'https://b.example.com/hooks' });
    expect(setB.status).toBe(200);
    expect(setB.body.data.secret).not.toBe(secretA);
    expect(setB.body.data.id).not.toBe(setA.body.data.id);
    expect((await b.client.get(`${P}/webhooks`)).body.data).toEqual({
      id: setB.body.data.id,
      url: 'https://b.example.com/hooks',
      secret: `whsec_…${setB.body.data.secret.slice(-4)}`,
      events: [],
    });
    expect((await a.client.get(`${P}/webhooks`)).body.data).toEqual({
      id: setA.body.data.id,
      url: 'https://a.example.com/hooks',
      secret: `whsec_…${secretA.slice(-4)}`,
      events: ['entity_event.*'],
    });
    const { rows } = await stack.db.pool.query(
      'select operator_id, url, secret from webhook_endpoints where operator_id = any($1) order by url',
      [[a.operatorId, b.operatorId]],
    );
    expect(rows).toEqual([
      { operator_id: a.operatorId, url: 'https://a.example.com/hooks', secret: secretA },
      { operator_id: b.operatorId, url: 'https://b.example.com/hooks', secret: setB.body.data.secret },
    ]);
  });
});
