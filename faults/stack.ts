import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { runMigrations } from '../core/db/migrate';
import { createPool } from '../core/db/pool';
import { spawnProjectScript, type ExitStatus, type ManagedChild } from '../scripts/lib/children';
import { waitForHttpOk } from '../scripts/lib/http';
import {
  ensureDatabase,
  freePort,
  startPostgres,
  startTemporal,
  type PostgresHandle,
  type TemporalHandle,
} from '../scripts/lib/services';

/**
 * The fault suite's own stack, every part a real process on loopback: embedded Postgres (a
 * persistent cluster in a temp dir, so it can be stopped and started again on the same data),
 * the Temporal dev server on a SQLite file (same reason), the KYC sandbox, the API and the
 * worker. Each can be killed, stopped and restarted by the scenarios.
 */
export interface FaultStack {
  apiUrl: string;
  sandboxUrl: string;
  databaseUrl: string;
  pool: Pool;
  temporal: Client;
  api: AppProcess;
  worker: AppProcess;
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  stopTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  /**
   * Freezes the Temporal dev server (SIGSTOP): its sockets stay open and calls hang unanswered,
   * unlike a stop, where they are refused. resumeTemporal (SIGCONT) lets it go on.
   */
  pauseTemporal(): void;
  resumeTemporal(): void;
  close(): Promise<void>;
}

export interface AppProcess {
  readonly pid: number;
  /** `env`: settings on top of the stack's, for this run of the process only (scenario f). */
  start(env?: NodeJS.ProcessEnv): Promise<void>;
  /** Sends a signal; resolves with how the process ended and how long that took. */
  signal(sig: NodeJS.Signals): Promise<{ status: ExitStatus; ms: number }>;
  isRunning(): boolean;
  recentOutput(): string[];
}

export interface StackOptions {
  log: (m: string) => void;
  slowMs: number;
}

export async function startFaultStack(o: StackOptions): Promise<FaultStack> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'igaming-faults-'));
  // As root, Postgres runs as the `postgres` user, which must be able to enter it.
  await fs.chmod(dir, 0o755);
  const [pgPort, temporalPort, apiPort, sandboxPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const quiet = () => undefined;
  const pgDir = path.join(dir, 'pg');
  const pgStart = () => startPostgres({ dataDir: pgDir, port: pgPort, persistent: true, log: quiet });
  let pg: PostgresHandle | undefined = await pgStart();
  const databaseUrl = await ensureDatabase(pg.url, 'faults');
  await runMigrations(databaseUrl);

  const temporalStart = () =>
    startTemporal({ port: temporalPort, dbFile: path.join(dir, 'temporal.db'), namespace: 'default' });
  let temporal: TemporalHandle | undefined = await temporalStart();
  let temporalPaused = false;

  const sandbox = spawnApp('kyc', 'scripts/kyc-sandbox.ts', {
    ...process.env,
    PORT: String(sandboxPort),
    HOST: '127.0.0.1',
    KYC_SANDBOX_SLOW_MS: String(o.slowMs),
  });
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  await waitForHttpOk(`${sandboxUrl}/healthz`, { timeoutMs: 60_000 });

  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'faults',
    KYC_PROVIDER_URL: sandboxUrl,
    // The suite measures faults, not the rate limiter.
    RATE_LIMIT_PER_MINUTE: '0',
    PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE: '0',
    // Where the sandbox provider delivers a connection's results (scenario h).
    PUBLIC_API_URL: apiUrl,
    FANOUT_RELAY_INTERVAL_MS: '500',
    // A wide window for scenarios d and e to hit a KYC call in flight (the sandbox answers
    // `slow…` applicants after slowMs, past this; the activity's start-to-close is 1 min).
    HTTP_TIMEOUT_MS: '20000',
    // The scenarios' webhook receiver listens on loopback.
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  };
  const api = appProcess('api', 'api/main.ts', { ...env, LOG_LEVEL: 'warn' }, () =>
    waitForHttpOk(`${apiUrl}/healthz`, { timeoutMs: 60_000 }),
  );
  const worker = appProcess('worker', 'worker/main.ts', { ...env, LOG_LEVEL: 'info' }, async () => {
    // The worker logs this line once it polls and its build is current (no deploy step here);
    // nothing else tells from outside.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (worker.recentOutput().some((l) => l.includes('current version set'))) return;
      if (!worker.isRunning()) throw new Error(`worker exited:\n${worker.recentOutput().join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('worker did not start polling within 120 s');
  });
  await Promise.all([api.start(), worker.start()]);

  const pool = createPool(databaseUrl, 8);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  o.log(`stack up: api ${apiUrl}, postgres :${pgPort}, temporal ${temporal.address}, sandbox ${sandboxUrl}`);

  return {
    apiUrl,
    sandboxUrl,
    databaseUrl,
    pool,
    temporal: client,
    api,
    worker,
    stopPostgres: async () => {
      await pg?.stop();
      pg = undefined;
    },
    startPostgres: async () => {
      pg = await pgStart();
    },
    stopTemporal: async () => {
      await temporal?.stop();
      temporal = undefined;
    },
    startTemporal: async () => {
      temporal = await temporalStart();
    },
    pauseTemporal: () => {
      if (!temporal) throw new Error('temporal is not running');
      process.kill(temporal.pid, 'SIGSTOP');
      temporalPaused = true;
    },
    resumeTemporal: () => {
      if (temporal && temporalPaused) process.kill(temporal.pid, 'SIGCONT');
      temporalPaused = false;
    },
    close: async () => {
      // A stopped process would not see the SIGTERM that ends it.
      if (temporal && temporalPaused) process.kill(temporal.pid, 'SIGCONT');
      for (const app of [api, worker]) if (app.isRunning()) await app.signal('SIGKILL');
      await sandbox.stop(5000);
      await connection.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await temporal?.stop();
      await pg?.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

function spawnApp(name: string, script: string, env: NodeJS.ProcessEnv): ManagedChild {
  return spawnProjectScript(script, { name, env, isolateFromTerminal: true });
}

function appProcess(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  ready: () => Promise<void>,
): AppProcess {
  let child: ManagedChild | undefined;
  return {
    get pid() {
      return child?.pid ?? -1;
    },
    async start(overrides = {}) {
      child = spawnApp(name, script, { ...env, ...overrides });
      await ready();
    },
    async signal(sig) {
      if (!child) throw new Error(`${name} is not running`);
      const started = Date.now();
      process.kill(child.pid, sig);
      const status = await child.exited;
      return { status, ms: Date.now() - started };
    },
    isRunning: () => child?.isRunning() ?? false,
    recentOutput: () => child?.recentOutput() ?? [],
  };
}
