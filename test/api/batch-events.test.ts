import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';
import { EVENT_ID, ISO_MS, JOB_ID, expectError } from '../support/expect';

const deposit = { type: 'deposit', amount: 100, currency: 'GBP' };

describe('POST /batch/events', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    stack = await startStack();
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'p1');
    await newPlayer(op.client, 'p2');
    await newPlayer(op.client, 'gone');
    expect((await op.client.delete(`${P}/entities/gone`)).status).toBe(200);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const mixed = () => [
    { externalId: 'p1', eventType: 'transaction', data: deposit },
    { externalId: 'p2', eventType: 'session', data: { action: 'login' } },
    { externalId: 'ghost', eventType: 'session', data: {} },
    { externalId: 'p1', data: deposit },
    { externalId: 'p1', eventType: 'transaction.deposit', data: { amount: 1, currency: 'GBP' } },
    { externalId: 'p1', eventType: 'support', data: { note: 'x'.repeat(33 * 1024) } },
    42,
    { externalId: 'p1', eventType: 'transaction', data: { type: 'deposit', currency: 'GBP' } },
    { externalId: 'gone', eventType: 'session', data: {} },
    { externalId: 'p1', eventType: 'game_activity', data: { game_id: 'roulette', bet_amount: 5 } },
  ];

  it('counts the events a batch recorded in events_recorded_total, per type, and none it refused', async () => {
    const counts = async () => {
      const text = await (await fetch(`${stack.baseUrl}/metrics`)).text();
      const read = (type: string) =>
        Number(
          new RegExp(`^events_recorded_total\\{event_type="${type}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
        );
      return {
        transaction: read('transaction'),
        session: read('session'),
        game_activity: read('game_activity'),
      };
    };
    // The same items on players of their own, so the listings of the tests below are untouched.
    await newPlayer(op.client, 'm1');
    await newPlayer(op.client, 'm2');
    const items = mixed().map((item) =>
      typeof item === 'object' && item.externalId in { p1: 1, p2: 1 }
        ? { ...item, externalId: item.externalId === 'p1' ? 'm1' : 'm2' }
        : item,
    );
    const before = await counts();
    const res = await op.client.post(`${P}/batch/events`, items);
    expect(res.body.data.succeeded).toBe(3);
    const after = await counts();
    // mixed(): one transaction, one session and one game_activity succeed; the rest fail.
    expect({
      transaction: after.transaction - before.transaction,
      session: after.session - before.session,
      game_activity: after.game_activity - before.game_activity,
    }).toEqual({ transaction: 1, session: 1, game_activity: 1 });
  });

  it('commits the valid items and lists every failed one with its index, externalId, code and message', async () => {
    const res = await op.client.post(`${P}/batch/events`, mixed());
    expect(res.status).toBe(200);
    const error = (index: number, externalId: string | null, code: string) => ({
      index,
      externalId,
      code,
      message: expect.any(String),
    });
    expect(res.body).toEqual({
      success: true,
      data: {
        jobId: expect.stringMatching(JOB_ID),
        succeeded: 3,
        failed: 7,
        errors: [
          error(2, 'ghost', 'ENTITY_NOT_FOUND'),
          error(3, 'p1', 'MISSING_FIELDS'),
          error(4, 'p1', 'VALIDATION_FAILED'),
          error(5, 'p1', 'PAYLOAD_TOO_LARGE'),
          error(6, null, 'VALIDATION_FAILED'),
          error(7, 'p1', 'VALIDATION_FAILED'),
          error(8, 'gone', 'ENTITY_NOT_FOUND'),
        ],
      },
    });
    const messages = res.body.data.errors.map((e: { message: string }) => e.message);
    expect(messages[1]).toBe('Missing required field: eventType');
    expect(messages[2]).toContain(
      'Allowed types: transaction, game_activity, session, bonus, block, support, affiliate',
    );
    expect(messages[5]).toContain('data.amount is required');

    const p1 = await op.client.get(`${P}/entities/p1/events`);
    expect(p1.body.data.map((e: { event_type: string }) => e.event_type)).toEqual([
      'game_activity',
      'transaction',
    ]);
    expect(p1.body.data[1]).toEqual({
      id: expect.stringMatching(EVENT_ID),
      event_type: 'transaction',
      data: deposit,
      created_at: expect.stringMatching(ISO_MS),
    });
    const p2 = await op.client.get(`${P}/entities/p2/events`);
    expect(p2.body.count).toBe(1);
  });

  it('GET /batch/jobs/:jobId answers the same counts and errors as the batch did', async () => {
    const batch = await op.client.post(`${P}/batch/events`, mixed());
    const job = await op.client.get(`${P}/batch/jobs/${batch.body.data.jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toEqual({
      success: true,
      data: {
        jobId: batch.body.data.jobId,
        kind: 'events',
        total: 10,
        succeeded: 3,
        failed: 7,
        errors: batch.body.data.errors,
        createdAt: expect.stringMatching(ISO_MS),
      },
    });
  });

  it('answers 404 NOT_FOUND for an unknown job id', async () => {
    expectError(await op.client.get(`${P}/batch/jobs/job_0000000000000000`), 404, 'NOT_FOUND');
    expectError(await op.client.get(`${P}/batch/jobs/not-a-job`), 404, 'NOT_FOUND');
  });

  it('starts the fan-out workflow entity_event.<type>:<id> of every recorded event, as for single events', async () => {
    await newPlayer(op.client, 'fan');
    const res = await op.client.post(`${P}/batch/events`, [
      { externalId: 'fan', eventType: 'transaction', data: deposit },
      { externalId: 'fan', eventType: 'bonus', data: { type: 'award' } },
    ]);
    expect(res.body.data.succeeded).toBe(2);
    const events = (await op.client.get(`${P}/entities/fan/events`)).body.data as Array<{
      id: string;
      event_type: string;
    }>;
    expect(events).toHaveLength(2);
    for (const e of events) {
      const description = await describeEventually(stack, `entity_event.${e.event_type}:${e.id}`);
      expect(description.type).toBe('processEvent');
      expect(description.searchAttributes).toMatchObject({
        OperatorId: [op.operatorId],
        EntityExternalId: ['fan'],
        EventType: [e.event_type],
        InternalEvent: [`entity_event.${e.event_type}`],
      });
    }
  });

  it('refuses a body that is not an array, is empty, or holds more than 5,000 items with 400 VALIDATION_FAILED, writing nothing', async () => {
    await newPlayer(op.client, 'limits');
    const counts = async () =>
      (
        await stack.db.pool.query(
          "select (select count(*)::int from events where external_id = 'limits') as events, (select count(*)::int from batch_jobs) as jobs",
        )
      ).rows[0];
    const before = await counts();
    const item = { externalId: 'limits', eventType: 'session', data: {} };
    expectError(await op.client.post(`${P}/batch/events`, item), 400, 'VALIDATION_FAILED');
    expectError(await op.client.post(`${P}/batch/events`, []), 400, 'VALIDATION_FAILED');
    const over = await op.client.post(
      `${P}/batch/events`,
      Array.from({ length: 5001 }, () => item),
    );
    expectError(over, 400, 'VALIDATION_FAILED');
    expect(over.body.error.message).toContain('5000');
    expect(await counts()).toEqual({ events: 0, jobs: before.jobs });
  });

  it('answers 413 PAYLOAD_TOO_LARGE past 20 MB', async () => {
    const big = Array.from({ length: 700 }, () => ({
      externalId: 'p1',
      eventType: 'support',
      data: { note: 'x'.repeat(30_000) },
    }));
    expectError(await op.client.post(`${P}/batch/events`, big), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 400 TEMPLATE_NOT_CONFIGURED before a template is set', async () => {
    const bare = await newOperator(stack.db.pool, stack.baseUrl, { template: false });
    expectError(
      await bare.client.post(`${P}/batch/events`, [{ externalId: 'p1', eventType: 'session', data: {} }]),
      400,
      'TEMPLATE_NOT_CONFIGURED',
    );
  });
});

/** The workflow start happens after the 200, in the background. */
async function describeEventually(stack: TestStack, workflowId: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await stack.temporal.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
