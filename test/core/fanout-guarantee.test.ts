import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { FanoutDispatcher } from '../../core/fanout/dispatcher';
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
