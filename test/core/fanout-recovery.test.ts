import path from 'node:path';
import { Writable } from 'node:stream';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import pino from 'pino';
import { FanoutDispatcher } from '../../core/fanout/dispatcher';
import { spawnManaged, spawnProjectScript } from '../../scripts/lib/children';
import { freePort } from '../../scripts/lib/services';
import { P, api } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';
import { startSilentServer, startStallProxy } from '../support/stall-proxy';
import { testEnv } from '../support/env';

jest.setTimeout(120_000);

const session = (i: number) => ({ eventType: 'session', data: { action: 'login', device: `d${i}` } });

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Crash recovery of the fan-out, inside `npm test` (the fault suite, `npm run faults`, does the
 * same at scale): the outbox row outlives whatever happened to the process that was starting
 * its workflow, and a relay later starts that workflow once.
 */
describe('fan-out recovery', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    // Nothing in the stack starts workflows: each test decides who does.
    stack = await startStack({ relay: false, immediateStarts: false });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_1');
  });
  afterAll(async () => {
    await stack?.close();
  });
  beforeEach(async () => {
    await stack.db.pool.query('delete from fanout_outbox');
  });

  /** Records `n` events (their rows wait in the outbox) and returns their workflow IDs. */
  async function recordEvents(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await op.client.post(`${P}/entities/player_1/events`, session(i));
      expect(res.status).toBe(201);
      ids.push(`entity_event.session:${res.body.data.id}`);
    }
    return ids;
  }

  const outbox = async () =>
    (
      await stack.db.pool.query<{
        workflow_id: string;
        attempts: number;
        due: boolean;
        last_error: string | null;
      }>(
        `select workflow_id, attempts, next_attempt_at <= clock_timestamp() as due, last_error
           from fanout_outbox order by workflow_id`,
      )
    ).rows;

  /** Skips the immediate path's grace period: the rows are due for a relay now. */
  const makeDue = () => stack.db.pool.query('update fanout_outbox set next_attempt_at = clock_timestamp()');

  async function exists(workflowId: string): Promise<boolean> {
    try {
      await stack.temporal.workflow.getHandle(workflowId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /** Runs of this workflow ID in Temporal's visibility, closed ones included. */
  async function runsOf(workflowId: string): Promise<number> {
    let n = 0;
    for await (const _ of stack.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
    return n;
  }

  async function expectStartedOnce(ids: string[]): Promise<void> {
    for (const id of ids) expect({ id, exists: await exists(id) }).toEqual({ id, exists: true });
    // Visibility lags the start by a moment.
    await waitFor('every workflow listed', async () => {
      const runs = await Promise.all(ids.map(runsOf));
      return runs.every((n) => n >= 1);
    });
    expect(await Promise.all(ids.map(runsOf))).toEqual(ids.map(() => 1));
  }

  const relay = (o: { client?: Client; leaseSeconds?: number } = {}) =>
    new FanoutDispatcher({
      pool: stack.db.pool,
      client: o.client ?? stack.temporal,
      taskQueue: stack.taskQueue,
      log: pino({ level: 'silent' }),
      relayLeaseSeconds: o.leaseSeconds,
    });

  it('a relay that leased rows and was killed: no one else takes them during its lease, another relay starts each once after it', async () => {
    const ids = await recordEvents(4);
    await makeDue();
    // The dying relay's Temporal never answers, so it holds its leased rows unstarted until killed.
    const silent = await startSilentServer();
    const dying = spawnManaged({
      name: 'relay',
      command: process.execPath,
      args: [
        '--import',
        'tsx',
        path.join(__dirname, '..', 'support', 'processes', 'relay.ts'),
        stack.db.url,
        silent.address,
        stack.taskQueue,
        '5',
      ],
      stopSignal: 'SIGKILL',
    });
    try {
      await waitFor('the relay leased every row', async () =>
        (await outbox()).every((r) => !r.due && r.attempts === 0),
      );
      expect((await dying.stop()).signal).toBe('SIGKILL');
    } finally {
      await dying.stop();
      await silent.close();
    }
    const survivor = relay();
    try {
      // Leased by the dead relay: not due, not taken, not started.
      expect(await survivor.sweep()).toBe(0);
      expect((await outbox()).map((r) => r.workflow_id)).toEqual([...ids].sort());
      for (const id of ids) expect(await exists(id)).toBe(false);
      // The 5-second lease ends: the rows fall due, untouched (no failed attempt recorded).
      await waitFor('the lease ran out', async () => (await outbox()).every((r) => r.due), 15_000);
      expect((await outbox()).map((r) => r.attempts)).toEqual(ids.map(() => 0));
      expect(await survivor.sweep()).toBe(ids.length);
    } finally {
      await survivor.stop();
    }
    expect(await outbox()).toEqual([]);
    await expectStartedOnce(ids);
  });

  it('a start Temporal never answers: given up at the start deadline, the row kept with the failed attempt, then started by a relay', async () => {
    const [id] = await recordEvents(1);
    await makeDue();
    const silent = await startSilentServer();
    const connection = Connection.lazy({ address: silent.address });
    const warnings: Array<{ msg: string; workflowId?: string; err?: { message?: string } }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) warnings.push(JSON.parse(l));
        done();
      },
    });
    const hung = new FanoutDispatcher({
      pool: stack.db.pool,
      client: new Client({ connection }),
      taskQueue: stack.taskQueue,
      log: pino({ level: 'warn' }, sink),
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      // The sweep's start waits for an answer that never comes, until the start's deadline;
      // bounded here, so that a start without a deadline fails this test rather than hanging it.
      const outcome = await Promise.race([
        hung.sweep(),
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('no answer after 30 s'), 30_000))),
      ]);
      expect(outcome).toBe(1);
    } finally {
      clearTimeout(timer);
      await hung.stop();
      await connection.close();
      await silent.close();
    }
    const failed = warnings.filter((w) => w.msg === 'workflow start failed; the relay will retry');
    expect(failed.map((w) => w.workflowId)).toEqual([id]);
    // Given up because its deadline passed, not because the server refused it.
    expect(JSON.stringify(failed[0]!.err)).toMatch(/deadline/i);
    expect(await outbox()).toEqual([
      { workflow_id: id, attempts: 1, due: expect.any(Boolean), last_error: 'start failed' },
    ]);
    expect(await exists(id!)).toBe(false);
    // Retried from the outbox once its backoff has passed.
    await waitFor('the backoff passed', async () => (await outbox()).every((r) => r.due), 15_000);
    const healthy = relay();
    try {
      expect(await healthy.sweep()).toBe(1);
    } finally {
      await healthy.stop();
    }
    expect(await outbox()).toEqual([]);
    await expectStartedOnce([id!]);
  });

  it('SIGTERM to an API whose starts Temporal stopped answering: it exits 0, its rows stay, a relay starts each once', async () => {
    const proxy = await startStallProxy(testEnv().temporalAddress);
    const port = await freePort();
    const lines: string[] = [];
    const apiProcess = spawnProjectScript('api/main.ts', {
      name: 'api',
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: stack.db.url,
        TEMPORAL_ADDRESS: proxy.address,
        TEMPORAL_NAMESPACE: testEnv().namespace,
        TEMPORAL_TASK_QUEUE: stack.taskQueue,
        PORT: String(port),
        HOST: '127.0.0.1',
        FANOUT_RELAY_ENABLED: 'false',
        LOG_LEVEL: 'info',
      },
      onLine: (l) => lines.push(l),
    });
    let ids: string[] = [];
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor('the API is ready', async () => {
        const res = await fetch(`${base}/readyz`).catch(() => undefined);
        return res?.status === 200;
      });
      const client = api(base, op.apiKey);
      // Through the proxy, the real server answers: this event's workflow starts and its row goes.
      const first = await client.post(`${P}/entities/player_1/events`, session(100));
      expect(first.status).toBe(201);
      const firstId = `entity_event.session:${first.body.data.id}`;
      await waitFor('the first start answered', async () => (await outbox()).length === 0);
      expect(await exists(firstId)).toBe(true);

      proxy.stall();
      for (let i = 0; i < 3; i++) {
        const res = await client.post(`${P}/entities/player_1/events`, session(i));
        expect(res.status).toBe(201);
        ids.push(`entity_event.session:${res.body.data.id}`);
      }
      expect((await apiProcess.stop(30_000)).code).toBe(0);
    } finally {
      await apiProcess.stop();
      await proxy.close();
    }
    const logged = lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as { msg?: string; inFlight?: number }];
      } catch {
        return [];
      }
    });
    expect(logged.filter((l) => /starts unanswered/.test(l.msg ?? '')).map((l) => l.inFlight)).toEqual([3]);
    ids = [...ids].sort();
    expect((await outbox()).map((r) => r.workflow_id)).toEqual(ids);
    for (const id of ids) expect(await exists(id)).toBe(false);
    await makeDue();
    const survivor = relay();
    try {
      expect(await survivor.sweep()).toBe(3);
    } finally {
      await survivor.stop();
    }
    expect(await outbox()).toEqual([]);
    await expectStartedOnce(ids);
  });
});
