import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { FanoutDispatcher } from '../../core/fanout/dispatcher';
import { startFanout } from '../../core/fanout/temporal-start';
import type { PendingStart } from '../../core/db/outbox';
import { freePort, startTemporal, type TemporalHandle } from '../../scripts/lib/services';
import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

jest.setTimeout(180_000);

const deposit = (i: number) => ({
  eventType: 'transaction',
  data: { type: 'deposit', amount: i + 1, currency: 'GBP' },
});

async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function runsOf(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

async function pendingCount(stack: TestStack): Promise<number> {
  const { rows } = await stack.db.pool.query<{ n: number }>('select count(*)::int as n from fanout_outbox');
  return rows[0]!.n;
}

describe('fan-out guarantee: every committed event gets exactly one workflow', () => {
  it('starts through the relay an event whose immediate start never happened (API died after commit)', async () => {
    const stack = await startStack({ immediateStarts: false });
    try {
      const op = await newOperator(stack.db.pool, stack.baseUrl);
      await newPlayer(op.client, 'p1');
      const res = await op.client.post(`${P}/entities/p1/events`, deposit(0));
      expect(res.status).toBe(201);
      const id = res.body.data.id as string;
      const before = await op.client.get(`${P}/events/${id}/fanout`);
      expect(before.body.data).toMatchObject({
        state: 'pending',
        workflowId: `entity_event.transaction:${id}`,
      });
      await eventually(async () =>
        (await op.client.get(`${P}/events/${id}/fanout`)).body.data.state === 'started' ? true : undefined,
      );
      const handle = stack.temporal.workflow.getHandle(`entity_event.transaction:${id}`);
      expect((await handle.describe()).type).toBe('processEvent');
      // The outbox row does not hold the event's data; the relay joined it back from the event.
      const history = await handle.fetchHistory();
      const [input] = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
      expect(JSON.parse(Buffer.from(input!.data!).toString('utf8'))).toMatchObject({
        eventId: id,
        eventType: 'transaction',
        data: deposit(0).data,
      });
    } finally {
      await stack.close();
    }
  });

  it('keeps exactly one run per event after its workflow completed: a second relay and the immediate path starting it again are answered "already started"', async () => {
    // No relay in the stack: the second relay below is the only one sweeping.
    const stack = await startStack({ worker: true, relay: false });
    try {
      const op = await newOperator(stack.db.pool, stack.baseUrl);
      await newPlayer(op.client, 'done-player');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await op.client.post(`${P}/entities/done-player/events`, {
          eventType: 'session',
          data: { action: 'login' },
        });
        expect(res.status).toBe(201);
        ids.push(res.body.data.id as string);
      }
      const workflowIds = ids.map((id) => `entity_event.session:${id}`);
      for (const id of workflowIds)
        await eventually(() =>
          stack.temporal.workflow
            .getHandle(id)
            .result()
            .then(
              () => true,
              () => undefined,
            ),
        );
      await eventually(async () => ((await pendingCount(stack)) === 0 ? true : undefined));
      // What a relay that died after starting them would leave behind: the same rows, due again.
      const { rows } = await stack.db.pool.query<PendingStart>(
        `insert into fanout_outbox (workflow_id, operator_id, internal_event, payload, search_attributes, definitions, next_attempt_at)
         select 'entity_event.session:' || e.id, e.operator_id, 'entity_event.session',
                jsonb_build_object('internalEvent', 'entity_event.session', 'operatorId', e.operator_id,
                                   'externalId', e.external_id, 'eventId', e.id, 'eventType', 'session',
                                   'occurredAt', to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                '{}'::jsonb, '{}'::text[], clock_timestamp()
           from events e where e.id = any($1::text[])
         returning workflow_id, payload, search_attributes, definitions, attempts`,
        [ids],
      );
      expect(rows).toHaveLength(5);
      // The immediate path, again: Temporal refuses a second run of a closed ID.
      for (const row of rows) {
        await expect(startFanout(stack.temporal, stack.taskQueue, row)).resolves.toBe('already_started');
      }
      // A second relay sweeping them: "already started" is success, the rows are cleared.
      const second = new FanoutDispatcher({
        pool: stack.db.pool,
        client: stack.temporal,
        taskQueue: stack.taskQueue,
        log: pino({ level: 'silent' }),
      });
      try {
        expect(await second.sweep(100)).toBe(5);
      } finally {
        await second.stop();
      }
      expect(await pendingCount(stack)).toBe(0);
      // Every run of each ID, closed ones included, once visibility shows them completed.
      for (const id of workflowIds) {
        const runs = await eventually(async () => {
          const statuses: string[] = [];
          for await (const wf of stack.temporal.workflow.list({ query: `WorkflowId = '${id}'` }))
            statuses.push(wf.status.name);
          return statuses.length > 0 && statuses.every((st) => st === 'COMPLETED') ? statuses : undefined;
        }, 30_000);
        expect(runs).toEqual(['COMPLETED']);
      }
    } finally {
      await stack.close();
    }
  });

  describe('with Temporal stopped for a while', () => {
    let temporal: TemporalHandle;
    let stack: TestStack;
    let dir: string;
    let port: number;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'temporal-outage-'));
      port = await freePort();
      temporal = await startTemporal({ port, dbFile: path.join(dir, 'temporal.db'), namespace: 'default' });
      stack = await startStack({ temporalAddress: temporal.address });
    });
    afterAll(async () => {
      await stack?.close();
      await temporal?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('keeps answering 201, then gives every event exactly one workflow once Temporal is back, even with two relays', async () => {
      const op = await newOperator(stack.db.pool, stack.baseUrl);
      await newPlayer(op.client, 'outage-player');
      await temporal.stop();

      const ids: string[] = [];
      const started = Date.now();
      for (let i = 0; i < 30; i++) {
        const res = await op.client.post(`${P}/entities/outage-player/events`, deposit(i));
        expect(res.status).toBe(201);
        ids.push(res.body.data.id);
      }
      // Recording does not wait on the unreachable Temporal (each request stays well under the gRPC timeouts).
      expect((Date.now() - started) / ids.length).toBeLessThan(1000);
      expect(await pendingCount(stack)).toBeGreaterThanOrEqual(30);

      temporal = await startTemporal({ port, dbFile: path.join(dir, 'temporal.db'), namespace: 'default' });
      // A second relay (another API instance) sweeping the same outbox at the same time.
      const connection = await Connection.connect({ address: temporal.address });
      const client = new Client({ connection });
      const second = new FanoutDispatcher({
        pool: stack.db.pool,
        client,
        taskQueue: stack.taskQueue,
        log: pino({ level: 'silent' }),
        relayIntervalMs: 100,
      });
      second.startRelay();
      try {
        await eventually(async () => ((await pendingCount(stack)) === 0 ? true : undefined), 150_000);
        for (const id of ids) {
          // The outbox row goes once the start succeeded, so the workflow exists now (describe is
          // strongly consistent); the list behind runsOf is visibility, which may lag under load.
          const workflowId = `entity_event.transaction:${id}`;
          expect((await client.workflow.getHandle(workflowId).describe()).type).toBe('processEvent');
          expect(await eventually(async () => (await runsOf(client, workflowId)) || undefined, 30_000)).toBe(
            1,
          );
        }
        const all = await eventually(async () => {
          let n = 0;
          for await (const _ of client.workflow.list({
            query: `EntityExternalId = 'outage-player' AND EventType = 'transaction'`,
          }))
            n++;
          return n >= ids.length ? n : undefined;
        });
        expect(all).toBe(ids.length);
      } finally {
        await second.stop();
        await connection.close();
      }
    });
  });
});
