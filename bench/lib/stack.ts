import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { createOperator } from '../../core/admin/operators';
import { runMigrations } from '../../core/db/migrate';
import { createPool } from '../../core/db/pool';
import { spawnManaged, type ManagedChild } from '../../scripts/lib/children';
import { waitForHttpOk } from '../../scripts/lib/http';
import { PROJECT_ROOT } from '../../scripts/lib/project';
import { ensureDatabase, freePort, startPostgres, startTemporal } from '../../scripts/lib/services';

const run = promisify(execFile);
export const say = (m: string) => console.log(`[bench] ${m}`);

/** Compiled output of the product code, as the production image runs it (node dist/…). */
export const DIST = path.join(PROJECT_ROOT, '.local', 'bench', 'dist');
const LOGS = path.join(PROJECT_ROOT, '.local', 'bench', 'logs');

export interface Services {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  pool: pg.Pool;
  temporal: Client;
  /** Servers this run started (none when given by DATABASE_URL / TEMPORAL_ADDRESS). */
  pids: { postgres?: number; temporal?: number };
  stop(): Promise<void>;
}

export interface AppProcess {
  name: string;
  pid: number;
  url?: string;
  child: ManagedChild;
}

/**
 * Compiles the product with tsc (incremental, into .local/bench/dist) so the API and worker
 * run as plain JS like `node dist/api/main.js` in the image: no tsx loader in the process
 * whose CPU and RSS we measure. Type errors elsewhere in a working tree do not stop tsc
 * from emitting, so only a missing output counts as failure.
 */
export async function compileProduct(): Promise<void> {
  const started = Date.now();
  if (await upToDate()) {
    say(`the compiled product in ${path.relative(PROJECT_ROOT, DIST)} is up to date`);
    return;
  }
  const tsc = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsc');
  try {
    await run(
      tsc,
      ['-p', 'tsconfig.build.json', '--outDir', DIST, '--incremental', '--tsBuildInfoFile', BUILD_INFO],
      { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    if (!existsSync(path.join(DIST, 'api', 'main.js'))) throw err;
    say(
      `tsc reported errors but emitted the product: ${String((err as { stdout?: string }).stdout).slice(0, 300)}`,
    );
  }
  // tsc leaves its build info untouched when nothing changed; mark this compile as the latest.
  const now = new Date();
  await utimes(BUILD_INFO, now, now).catch(() => undefined);
  say(
    `compiled the product into ${path.relative(PROJECT_ROOT, DIST)} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

const PRODUCT_DIRS = ['api', 'workflows', 'activities', 'worker', 'core', 'cli', 'scripts'];
const BUILD_INFO = path.join(DIST, '..', 'tsbuildinfo');

/** No product source (or tsconfig) newer than the last compile: skips tsc's type-check pass. */
async function upToDate(): Promise<boolean> {
  const built = await stat(BUILD_INFO).catch(() => undefined);
  if (!built || !existsSync(path.join(DIST, 'api', 'main.js'))) return false;
  const newer = async (p: string): Promise<boolean> => {
    const st = await stat(p).catch(() => undefined);
    if (!st) return false;
    if (!st.isDirectory()) return /\.(ts|json|sql)$/.test(p) && st.mtimeMs > built.mtimeMs;
    for (const entry of await readdir(p)) if (await newer(path.join(p, entry))) return true;
    return false;
  };
  for (const p of [...PRODUCT_DIRS, 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']) {
    if (await newer(path.join(PROJECT_ROOT, p))) return false;
  }
  return true;
}

/**
 * BENCH_TEMPORAL_STORE: where our dev server keeps its state. `memory` (default), `wal` (a
 * SQLite file as the local stack keeps it: PERSISTENT_STORE_PRAGMAS) or `file` (a SQLite file
 * with SQLite's default journal), to measure what persistence costs the fan-out.
 */
function temporalStore(runId: string): { dbFile?: string; sqlitePragmas?: string[] } {
  const store = process.env.BENCH_TEMPORAL_STORE ?? 'memory';
  const dbFile = path.join(PROJECT_ROOT, '.local', 'bench', `temporal-${runId}.db`);
  if (store === 'memory') return {};
  if (store === 'wal') return { dbFile };
  if (store === 'file') return { dbFile, sqlitePragmas: [] };
  throw new Error(`BENCH_TEMPORAL_STORE is memory, wal or file, not "${store}"`);
}

/**
 * Extra dynamic config for the bench's own dev server, as a JSON object in
 * BENCH_TEMPORAL_DYNAMIC_CONFIG (e.g. one partition per task queue:
 * `{"matching.numTaskqueueReadPartitions":1,"matching.numTaskqueueWritePartitions":1}`), to
 * measure a server setting against the default in two runs.
 */
function benchDynamicConfig(): Record<string, string | number | boolean> | undefined {
  const raw = process.env.BENCH_TEMPORAL_DYNAMIC_CONFIG;
  return raw ? (JSON.parse(raw) as Record<string, string | number | boolean>) : undefined;
}

/** Postgres and Temporal: the ones given by DATABASE_URL / TEMPORAL_ADDRESS, or our own. */
export async function startServices(): Promise<Services> {
  const stops: Array<() => Promise<void>> = [];
  const runId = Date.now().toString(36);
  let databaseUrl = process.env.DATABASE_URL;
  let temporalAddress = process.env.TEMPORAL_ADDRESS;
  const namespace = process.env.TEMPORAL_NAMESPACE || 'default';
  const [pgHandle, temporalHandle] = await Promise.all([
    databaseUrl
      ? undefined
      : freePort().then((port) => startPostgres({ dataDir: os.tmpdir(), port, persistent: false })),
    temporalAddress
      ? undefined
      : freePort().then((port) =>
          startTemporal({ port, namespace, ...temporalStore(runId), dynamicConfig: benchDynamicConfig() }),
        ),
  ]);
  if (pgHandle) {
    stops.push(pgHandle.stop);
    databaseUrl = await ensureDatabase(pgHandle.url, 'bench');
    say(`Postgres ${pgHandle.url} (throw-away cluster, pid ${pgHandle.pid})`);
  } else {
    // A fresh database next to the given one, so runs never mix data.
    databaseUrl = await ensureDatabase(databaseUrl!, `bench_${runId}`);
    say(`Postgres from DATABASE_URL, database bench_${runId}`);
  }
  if (temporalHandle) {
    stops.push(temporalHandle.stop);
    temporalAddress = temporalHandle.address;
    say(
      `Temporal dev server ${temporalAddress} (${process.env.BENCH_TEMPORAL_STORE ?? 'memory'}, pid ${temporalHandle.pid})`,
    );
  } else say(`Temporal from TEMPORAL_ADDRESS ${temporalAddress}`);
  await runMigrations(databaseUrl);
  const pool = createPool(databaseUrl, 8);
  const connection = await Connection.connect({ address: temporalAddress! });
  const temporal = new Client({ connection, namespace });
  return {
    databaseUrl,
    temporalAddress: temporalAddress!,
    namespace,
    taskQueue: `bench-${runId}`,
    pool,
    temporal,
    pids: { postgres: pgHandle?.pid, temporal: temporalHandle?.pid },
    stop: async () => {
      await pool.end();
      await connection.close();
      for (const stop of stops.reverse()) await stop();
    },
  };
}

function appEnv(s: Services, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    PII_MASTER_KEY: 'bench-only-master-key-0123456789abcdef0123456789abcdef',
    DATABASE_URL: s.databaseUrl,
    TEMPORAL_ADDRESS: s.temporalAddress,
    TEMPORAL_NAMESPACE: s.namespace,
    TEMPORAL_TASK_QUEUE: s.taskQueue,
    // The limiter stays on the path (it leases budget chunks) but never refuses a benchmark.
    RATE_LIMIT_PER_MINUTE: '1000000000',
    PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE: '1000000000',
    LOG_LEVEL: 'info',
    KYC_PROVIDER_URL: 'http://127.0.0.1:9',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    // Production settings, but no deploy step: the worker makes its build current itself.
    WORKER_SET_CURRENT_VERSION: 'true',
    ...extra,
  };
}

/**
 * A compiled entry point whose output goes straight to `logFile`. The access log (one JSON line
 * per request) is real work we keep, written to a file as a log collector would take it: a
 * pipe read by this (busy) process made pino's synchronous writes wait on us, which showed up
 * as API CPU in profiles. `exec` keeps node's pid, so RSS and CPU are read from the right process.
 */
function spawnLogged(name: string, nodeArgs: string[], env: NodeJS.ProcessEnv, logFile: string) {
  return spawnManaged({
    name,
    command: '/bin/sh',
    args: ['-c', 'exec "$0" "$@" >>"$BENCH_LOG" 2>&1', process.execPath, ...nodeArgs],
    cwd: PROJECT_ROOT,
    env: { ...env, BENCH_LOG: logFile },
  });
}

/** One API process (compiled JS) on a free port; resolves once /healthz answers. */
export async function startApi(
  s: Services,
  name = 'api',
  extra: Record<string, string> = {},
): Promise<AppProcess> {
  const port = await freePort();
  await mkdir(LOGS, { recursive: true });
  const logFile = path.join(LOGS, `${name}-${port}.log`);
  const child = spawnLogged(
    name,
    [...nodeFlags(name), path.join(DIST, 'api', 'main.js')],
    appEnv(s, { PORT: String(port), HOST: '127.0.0.1', ...extra }),
    logFile,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttpOk(`${url}/healthz`, { timeoutMs: 60_000, givenUp: () => !child.isRunning() }).catch(
    async (err: unknown) => {
      const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
      throw new Error(`${name} did not start: ${String(err)}\n${tail}`);
    },
  );
  return { name, pid: child.pid, url, child };
}

/** BENCH_CPU_PROF=api (or worker) writes a V8 CPU profile of that process into .local/bench/profiles on exit. */
function nodeFlags(name: string): string[] {
  const want = process.env.BENCH_CPU_PROF;
  if (!want || !name.startsWith(want)) return [];
  return ['--cpu-prof', `--cpu-prof-dir=${path.join(PROJECT_ROOT, '.local', 'bench', 'profiles')}`];
}

export async function startWorker(
  s: Services,
  name = 'worker',
  extra: Record<string, string> = {},
): Promise<AppProcess> {
  await mkdir(LOGS, { recursive: true });
  const logFile = path.join(LOGS, `${name}-${Date.now()}.log`);
  const child = spawnLogged(
    name,
    [...nodeFlags(name), path.join(DIST, 'worker', 'main.js')],
    appEnv(s, extra),
    logFile,
  );
  // Bundling the workflows takes a while on a busy machine.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    // Polling, and its build current (before that, new workflows would wait for it).
    if (log.includes('current version set')) break;
    if (!child.isRunning() || Date.now() > deadline) {
      throw new Error(`${name} did not start:\n${log.split('\n').slice(-20).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { name, pid: child.pid, child };
}

export interface BenchOperator {
  operatorId: string;
  apiKey: string;
}

/** An operator with the iGaming template, made by the same code the admin CLI runs. */
export async function newOperator(
  s: Services,
  name: string,
  mode: 'live' | 'test' = 'live',
): Promise<BenchOperator> {
  const op = await createOperator(s.pool, { name, mode, withTemplate: true });
  return { operatorId: op.operatorId, apiKey: op.apiKey };
}

/**
 * One operator API call with a JSON body: throws on an HTTP error and on a batch answer that
 * reports failed items (a bench must not measure work the service refused).
 */
export async function callApi(
  api: AppProcess,
  op: BenchOperator,
  method: string,
  route: string,
  body: unknown,
): Promise<unknown> {
  if (!api.url) throw new Error(`${api.name} has no URL`);
  const res = await fetch(`${api.url}/operator-data-api${route}`, {
    method,
    headers: { authorization: `Bearer ${op.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  const json = (text ? JSON.parse(text) : undefined) as { data?: { failed?: number } } | undefined;
  if (!res.ok || json?.data?.failed)
    throw new Error(`${method} ${route}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return json;
}

/** Creates a player through the API, as an operator would. */
export async function createPlayer(apiUrl: string, op: BenchOperator, externalId: string): Promise<void> {
  const res = await fetch(`${apiUrl}/operator-data-api/entities`, {
    method: 'POST',
    headers: { authorization: `Bearer ${op.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      entityType: 'player',
      externalId,
      data: { email: `${externalId}@example.com`, country: 'GB', currency: 'GBP' },
    }),
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`creating ${externalId}: HTTP ${res.status} ${await res.text()}`);
  }
}

export const betBody = JSON.stringify({
  eventType: 'game_activity',
  data: { game_id: 'slot_starburst', bet_amount: 2.5, currency: 'GBP', round_id: 'r_1' },
});
