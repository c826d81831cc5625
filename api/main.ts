import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../core/config';
import { createPool } from '../core/db/pool';
import { EventWriter, eventGroups } from '../core/domain/event-writer';
import { FanoutDispatcher } from '../core/fanout/dispatcher';
import { createLogger } from '../core/logger';
import { PiiCipher } from '../core/security/pii';
import { createApp } from './app';
import { answerClientError } from './http/client-error';
import { createApiMetrics } from './metrics';
import { RateLimiter } from './middleware/rate-limit';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, 'api');
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  // Lazy: the API starts and records events even while Temporal is unreachable.
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const metrics = createApiMetrics();
  const dispatcher = new FanoutDispatcher({
    pool,
    client: temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    log: log.child({ component: 'fanout' }),
    metrics: metrics.dispatcher,
    relayIntervalMs: config.FANOUT_RELAY_INTERVAL_MS,
    maxInFlight: config.FANOUT_MAX_IN_FLIGHT,
  });
  if (config.FANOUT_RELAY_ENABLED) dispatcher.startRelay();

  const rateLimiter = new RateLimiter(pool, config.RATE_LIMIT_PER_MINUTE, log);
  const app = createApp({
    pool,
    temporal,
    log,
    metrics,
    dispatcher,
    events: new EventWriter(
      pool,
      eventGroups(config, (size) => metrics.eventGroupSize.observe(size)),
    ),
    rateLimiter,
    pii: new PiiCipher(config.PII_MASTER_KEY),
    allowPrivateWebhookUrls: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    webhookSecretGraceMs: config.WEBHOOK_SECRET_GRACE_MS,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    webhookLogRetentionDays: config.WEBHOOK_LOG_RETENTION_DAYS,
    workflowDefaults: config,
    providerWebhookRatePerMinute: config.PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE,
  });
  const server = http.createServer(app.callback());
  server.on('clientError', answerClientError);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new requests, finishing in-flight ones');
    // close() stops accepting and resolves once every connection is gone. A keep-alive
    // connection busy at this moment would otherwise stay open after its answer (and could
    // carry new requests) until keepAliveTimeout, holding the drain until the forced close:
    // answers say `Connection: close` from now on, and idle connections are closed as they appear.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) =>
      res.setHeader('Connection', 'close'),
    );
    server.closeIdleConnections();
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    const force = setTimeout(() => server.closeAllConnections(), 10_000);
    await closed;
    clearInterval(idleSweep);
    clearTimeout(force);
    await dispatcher.stop();
    await pool.end();
    await connection.close().catch(() => undefined);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // Said only now: whoever waits for this line (the stack, tests) may signal the API at once.
  log.info({ port, docs: `http://localhost:${port}/docs` }, `API listening on http://localhost:${port}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
