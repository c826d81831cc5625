import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createApp } from '../../api/app';
import { createApiMetrics } from '../../api/metrics';
import { RateLimiter } from '../../api/middleware/rate-limit';
import { createPool } from '../../core/db/pool';
import { PiiCipher } from '../../core/security/pii';
import { freePort } from '../../scripts/lib/ports';
import { startStack, type TestStack } from '../support/stack';
import { EventWriter, eventGroups } from '../../core/domain/event-writer';

/** /readyz answers 200 only while both Postgres and Temporal answer, and says which is down. */
describe('readiness', () => {
  let stack: TestStack;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    stack = await startStack({ relay: false });
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await stack?.close();
  });

  /** An API whose Postgres and/or Temporal is a port nothing listens on. */
  async function apiWith(o: { postgresDown: boolean; temporalDown: boolean }): Promise<string> {
    const deadPort = await freePort();
    const log = pino({ level: 'silent' });
    const pool = o.postgresDown
      ? createPool(`postgres://postgres:postgres@127.0.0.1:${deadPort}/none`, 1)
      : stack.db.pool;
    const temporal = o.temporalDown
      ? new Client({ connection: Connection.lazy({ address: `127.0.0.1:${deadPort}` }) })
      : stack.temporal;
    const app = createApp({
      pool,
      temporal,
      log,
      metrics: createApiMetrics(),
      dispatcher: { dispatch: () => undefined, nudge: () => undefined },
      events: new EventWriter(pool, eventGroups(stack.config)),
      rateLimiter: new RateLimiter(pool, 0, log),
      pii: new PiiCipher(stack.config.PII_MASTER_KEY),
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    if (o.postgresDown) closers.push(() => pool.end());
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const ready = async (baseUrl: string) => {
    const started = Date.now();
    const res = await fetch(`${baseUrl}/readyz`);
    return { status: res.status, body: await res.json(), ms: Date.now() - started };
  };

  it('200 ready when both answer', async () => {
    expect(await ready(stack.baseUrl)).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } },
    });
  });

  it('503 naming Temporal when only Temporal is unreachable, within a few seconds', async () => {
    const r = await ready(await apiWith({ postgresDown: false, temporalDown: true }));
    expect(r).toMatchObject({
      status: 503,
      body: { status: 'unavailable', checks: { postgres: 'ok', temporal: 'down' } },
    });
    // The probe's own deadline is 2 s; the rest is margin for a busy CI machine.
    expect(r.ms).toBeLessThan(8_000);
  });

  it('503 naming Postgres when only Postgres is unreachable', async () => {
    const r = await ready(await apiWith({ postgresDown: true, temporalDown: false }));
    expect(r).toMatchObject({
      status: 503,
      body: { status: 'unavailable', checks: { postgres: 'down', temporal: 'ok' } },
    });
    expect(r.ms).toBeLessThan(5_000);
  });
});
