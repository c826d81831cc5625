import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import pino from 'pino';
import { FanoutDispatcher } from '../../core/fanout/dispatcher';
import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

jest.setTimeout(120_000);

async function waitFor(fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const queued = async (stack: TestStack, internalEvent: string): Promise<number> =>
  (
    await stack.db.pool.query<{ n: number }>(
      'select count(*)::int as n from fanout_outbox where internal_event = $1',
      [internalEvent],
    )
  ).rows[0]!.n;

describe('fan-out dispatcher: one in-flight budget, relay on demand', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Nothing in the stack starts workflows: the dispatcher under test is the only one.
    stack = await startStack({ relay: false, immediateStarts: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('never has more starts in flight than its budget, and still starts every queued row once', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'budget-player');
    const items = Array.from({ length: 40 }, (_, i) => ({
      externalId: 'budget-player',
      eventType: 'game_activity',
      data: { game_id: 'slot', bet_amount: i },
    }));
    const batch = await op.client.post(`${P}/batch/events`, items);
    expect(batch.body.data.succeeded).toBe(40);
    // Batch rows are due at once: no wait for the immediate path's grace period.
    const { rows: due } = await stack.db.pool.query<{ n: number }>(
      `select count(*)::int as n from fanout_outbox
        where internal_event = 'entity_event.game_activity' and next_attempt_at <= clock_timestamp()`,
    );
    expect(due[0]!.n).toBe(40);

    // Count concurrent calls against the real server by wrapping the client's start.
    const client = stack.temporal;
    const realStart = client.workflow.start.bind(client.workflow);
    let now = 0;
    let peak = 0;
    const started: string[] = [];
    const counting = new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'workflow') return Reflect.get(target, prop, receiver) as unknown;
        return new Proxy(target.workflow, {
          get(wf, p, r) {
            if (p !== 'start') return Reflect.get(wf, p, r) as unknown;
            return async (...args: Parameters<typeof realStart>) => {
              now++;
              peak = Math.max(peak, now);
              try {
                const handle = await realStart(...args);
                started.push(handle.workflowId);
                return handle;
              } finally {
                now--;
              }
            };
          },
        });
      },
    });
    const dispatcher = new FanoutDispatcher({
      pool: stack.db.pool,
      client: counting,
      taskQueue: stack.taskQueue,
      log: pino({ level: 'silent' }),
      maxInFlight: 3,
    });
    try {
      // No relay loop runs: a nudge alone drains what is due.
      dispatcher.nudge();
      await waitFor(async () => (await queued(stack, 'entity_event.game_activity')) === 0);
    } finally {
      await dispatcher.stop();
    }
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(3);
    // The entity's entity.created row is not due yet (the immediate path's grace period).
    expect(started.filter((id) => id.startsWith('entity_event.game_activity:'))).toHaveLength(40);
    expect(new Set(started).size).toBe(started.length);
  });

  it('queues immediate hand-offs beyond the budget in memory, up to four budgets, and leaves the rest to the relay', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'over-budget');
    // Clear the entity write's row so only the events below remain.
    await stack.db.pool.query('delete from fanout_outbox');
    for (let i = 0; i < 7; i++) {
      const res = await op.client.post(`${P}/entities/over-budget/events`, {
        eventType: 'game_activity',
        data: { game_id: 'slot', bet_amount: i },
      });
      expect(res.status).toBe(201);
    }
    const { rows } = await stack.db.pool.query<{
      workflow_id: string;
      payload: never;
      search_attributes: never;
      definitions: string[];
      attempts: number;
    }>(
      `select workflow_id, payload, search_attributes, definitions, attempts from fanout_outbox order by created_at`,
    );
    expect(rows).toHaveLength(7);
    const dispatcher = new FanoutDispatcher({
      pool: stack.db.pool,
      client: stack.temporal,
      taskQueue: stack.taskQueue,
      log: pino({ level: 'silent' }),
      maxInFlight: 1,
    });
    try {
      // Seven hand-offs at once with a budget of one: one starts, four wait their turn in
      // memory, two stay in the outbox (their 5-second grace has not passed: no relay takes them).
      for (const row of rows) dispatcher.dispatch(row);
      const left = async () =>
        (
          await stack.db.pool.query<{ workflow_id: string }>(
            'select workflow_id from fanout_outbox order by created_at',
          )
        ).rows.map((r) => r.workflow_id);
      await waitFor(async () => (await left()).length === 2);
      expect(await left()).toEqual(rows.slice(5).map((r) => r.workflow_id));
    } finally {
      await dispatcher.stop();
    }
    for (const row of rows.slice(0, 5)) {
      await expect(stack.temporal.workflow.getHandle(row.workflow_id).describe()).resolves.toMatchObject({
        type: 'processEvent',
      });
    }
  });
});

describe('fan-out dispatcher: stopping while Temporal does not answer', () => {
  it('gives up on unanswered starts after its grace period instead of hanging the shutdown', async () => {
    // A server that accepts connections and never says a word: every gRPC call hangs.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const connection = Connection.lazy({ address: `127.0.0.1:${port}` });
    const client = new Client({ connection });
    let settled = false; // the start call has returned or thrown
    const realStart = client.workflow.start.bind(client.workflow);
    client.workflow.start = ((...args: Parameters<typeof realStart>) =>
      realStart(...args).finally(() => {
        settled = true;
      })) as typeof realStart;
    const pool = new Pool({ connectionString: 'postgres://nobody@127.0.0.1:9/none' });
    const dispatcher = new FanoutDispatcher({
      pool,
      client,
      taskQueue: 'nowhere',
      log: pino({ level: 'silent' }),
    });
    try {
      dispatcher.dispatch({
        workflow_id: 'entity_event.login:eev_0000000000000000',
        payload: {
          internalEvent: 'entity_event.login',
          operatorId: 'op_x',
          externalId: 'p',
          eventId: 'eev_0000000000000000',
          eventType: 'login',
          data: {},
          occurredAt: new Date().toISOString(),
        },
        search_attributes: {},
        definitions: [],
        attempts: 0,
      });
      const started = Date.now();
      await dispatcher.stop(300);
      // It waited its grace period, then cancelled the call rather than waiting for an answer.
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(settled).toBe(true);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      await connection.close(); // cancels the call left hanging
      await pool.end();
    }
  });
});
