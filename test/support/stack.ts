import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import {
  NativeConnection,
  Runtime,
  Worker,
  makeTelemetryFilterString,
  type Logger as SdkLogger,
  type WorkerOptions,
} from '@temporalio/worker';
import pino from 'pino';
import { createActivities, type Activities, type ActivityDeps } from '../../activities';
import { startKycSandbox, type KycSandbox } from '../../activities/kyc/sandbox-server';
import { createApp } from '../../api/app';
import { answerClientError } from '../../api/http/client-error';
import { createApiMetrics } from '../../api/metrics';
import { RateLimiter } from '../../api/middleware/rate-limit';
import { parseConfig, type Config } from '../../core/config';
import { EventWriter, eventGroups } from '../../core/domain/event-writer';
import { FanoutDispatcher } from '../../core/fanout/dispatcher';
import type { Logger } from '../../core/logger';
import { PiiCipher } from '../../core/security/pii';
import { activityInterceptor } from '../../worker/activity-interceptor';
import { PinoSdkLogger } from '../../worker/sdk-telemetry';
import { createWorkerMetrics, type WorkerMetrics } from '../../worker/metrics';
import { deploymentOptions, makeVersionCurrent, workerVersion } from '../../worker/versioning';
import { ensurePartitionSchedule, partitionScheduleId } from '../../worker/partition-schedule';
import { createTestDatabase, type TestDatabase } from './db';
import { WORKFLOW_BUNDLE, testEnv } from './env';

let runtimeInstalled = false;

let bundleText: string | undefined;
/** The bundle the jest global set-up built, read once per test file (its hash is the build id). */
const bundleCode = (): string => (bundleText ??= readFileSync(WORKFLOW_BUNDLE, 'utf8'));

/**
 * The Temporal SDK's logger (its own lines, workflow code's `log`, activities' context log and
 * core's warnings) as production has it (worker/sdk-telemetry.ts: pino, component
 * temporal-sdk), written to the logger of the stack whose worker started last: the runtime is
 * installed once per test file, a stack's logger is its own.
 */
let sdkLog: SdkLogger = new PinoSdkLogger(pino({ level: 'silent' }));
const forwardingSdkLogger: SdkLogger = {
  log: (level, message, meta) => sdkLog.log(level, message, meta),
  trace: (message, meta) => sdkLog.trace(message, meta),
  debug: (message, meta) => sdkLog.debug(message, meta),
  info: (message, meta) => sdkLog.info(message, meta),
  warn: (message, meta) => sdkLog.warn(message, meta),
  error: (message, meta) => sdkLog.error(message, meta),
};

export interface TestStack {
  baseUrl: string;
  db: TestDatabase;
  temporal: Client;
  taskQueue: string;
  config: Config;
  dispatcher: FanoutDispatcher;
  rateLimiter: RateLimiter;
  /** The sandbox KYC provider (a real HTTP server on loopback) this stack's worker calls. */
  kyc: KycSandbox;
  /** Activity outcomes counted by the in-process worker's interceptor (as worker/main.ts serves them). */
  workerMetrics: WorkerMetrics;
  /**
   * Starts (or restarts) an in-process worker on this stack's task queue. `limits` caps its
   * slots (a worker that is the bottleneck, so the server's dispatch order shows); `wrap` may
   * replace activities (a test that holds one back to force an interleaving).
   */
  startWorker(
    overrides?: Partial<ActivityDeps>,
    options?: { limits?: WorkerLimits; wrap?: (activities: Activities) => Activities },
  ): Promise<Worker>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export type WorkerLimits = Pick<
  WorkerOptions,
  'maxConcurrentWorkflowTaskExecutions' | 'maxConcurrentActivityTaskExecutions'
>;

export interface StackOptions {
  worker?: boolean;
  relay?: boolean;
  configOverrides?: Partial<Record<keyof Config, string>>;
  /** Another Temporal server than the shared one (tests that stop and restart it). */
  temporalAddress?: string;
  /** false: the API does not start workflows after commit (as if it died right then); only the relay does. */
  immediateStarts?: boolean;
  /** The API's and the worker's logger (default: silent, or TEST_LOG_LEVEL). */
  log?: Logger;
}

/**
 * A real API (Koa on an ephemeral port) over a fresh database, a real Temporal client, and
 * optionally a real worker on a task queue of its own: one per test file.
 */
export async function startStack(opts: StackOptions = {}): Promise<TestStack> {
  const shared = testEnv();
  const env = { ...shared, temporalAddress: opts.temporalAddress ?? shared.temporalAddress };
  const db = await createTestDatabase();
  const taskQueue = `test-${randomBytes(6).toString('hex')}`;
  const kyc = await startKycSandbox({ slowMs: 2_000 });
  const config = parseConfig({
    KYC_PROVIDER_URL: kyc.url,
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    // A deployment per stack, as a task queue per stack: test files never share a current version.
    TEMPORAL_DEPLOYMENT_NAME: taskQueue,
    WORKER_SET_CURRENT_VERSION: 'true',
    LOG_LEVEL: 'silent',
    // The tests' webhook receivers listen on loopback (test/security/webhook-destination.test.ts
    // turns this off to check the refusals).
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    ...opts.configOverrides,
  });
  const log = opts.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const workerMetrics = createWorkerMetrics({ defaultMetrics: false });
  const connection = await Connection.connect({ address: env.temporalAddress });
  const temporal = new Client({ connection, namespace: env.namespace });
  const metrics = createApiMetrics();
  const dispatcher = new FanoutDispatcher({
    pool: db.pool,
    client: temporal,
    taskQueue,
    log,
    metrics: metrics.dispatcher,
    relayIntervalMs: 200,
  });
  if (opts.relay !== false) dispatcher.startRelay();
  const rateLimiter = new RateLimiter(db.pool, config.RATE_LIMIT_PER_MINUTE, log);
  const app = createApp({
    pool: db.pool,
    temporal,
    log,
    metrics,
    dispatcher:
      opts.immediateStarts === false ? { dispatch: () => undefined, nudge: () => undefined } : dispatcher,
    events: new EventWriter(
      db.pool,
      eventGroups(config, (size) => metrics.eventGroupSize.observe(size)),
    ),
    rateLimiter,
    pii: new PiiCipher(config.PII_MASTER_KEY),
    authCacheTtlMs: 0,
    allowPrivateWebhookUrls: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    webhookSecretGraceMs: config.WEBHOOK_SECRET_GRACE_MS,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    webhookLogRetentionDays: config.WEBHOOK_LOG_RETENTION_DAYS,
    workflowDefaults: config,
    providerWebhookRatePerMinute: config.PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE,
  });
  const server = http.createServer(app.callback());
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // The sandbox provider delivers its webhooks under PUBLIC_API_URL: this stack's own API, whose
  // port is known only now (unless a test names another address).
  const workerConfig = opts.configOverrides?.PUBLIC_API_URL ? config : { ...config, PUBLIC_API_URL: baseUrl };

  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;

  const stack: TestStack = {
    baseUrl,
    db,
    temporal,
    taskQueue,
    config,
    dispatcher,
    rateLimiter,
    kyc,
    workerMetrics,
    async startWorker(overrides = {}, { limits = {}, wrap = (a: Activities) => a } = {}) {
      sdkLog = new PinoSdkLogger(log.child({ component: 'temporal-sdk' }));
      if (!runtimeInstalled) {
        Runtime.install({
          telemetryOptions: {
            logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
          },
          logger: forwardingSdkLogger,
        });
        runtimeInstalled = true;
      }
      nativeConnection ??= await NativeConnection.connect({ address: env.temporalAddress });
      // Versioned as worker/main.ts is, with the same default build id (the bundle's hash).
      const version = workerVersion(config, bundleCode());
      worker = await Worker.create({
        connection: nativeConnection,
        namespace: env.namespace,
        taskQueue,
        workflowBundle: { codePath: WORKFLOW_BUNDLE },
        workerDeploymentOptions: deploymentOptions(version),
        activities: wrap(createActivities({ pool: db.pool, log, config: workerConfig, ...overrides })),
        shutdownGraceTime: '1s',
        interceptors: { activity: [activityInterceptor(log, workerMetrics)] },
        ...limits,
      });
      const run = worker.run();
      running = run;
      if (config.WORKER_SET_CURRENT_VERSION) {
        const stopped = run.then(() => {
          throw new Error(`worker stopped before ${version.buildId} became current`);
        });
        void stopped.catch(() => undefined); // read by the race only; a later, normal stop is no error
        await Promise.race([makeVersionCurrent(connection, env.namespace, version), stopped]);
      }
      return worker;
    },
    async stopWorker() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = undefined;
      running = undefined;
    },
    async close() {
      await temporal.schedule
        .getHandle(partitionScheduleId(taskQueue))
        .delete()
        .catch(() => undefined);
      await stack.stopWorker();
      await dispatcher.stop();
      // Drop open connections first: one still sending a refused (413) body would hold close() for seconds.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await connection.close();
      await nativeConnection?.close();
      await db.drop();
      await kyc.close();
    },
  };
  if (opts.worker) {
    await stack.startWorker();
    // As worker/main.ts does, without the immediate run (a test counts its queue's workflows;
    // the template database already has migration 018's partitions).
    await ensurePartitionSchedule(temporal, taskQueue, { runNow: false });
  }
  return stack;
}
