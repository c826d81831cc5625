import fs from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { spawnManaged, type ExitStatus, type ManagedChild } from './children';
import { isListening, sleep } from './ports';
import { findTemporalCli } from './temporal-cli';

export interface TemporalOptions {
  port: number;
  /** undefined → --headless */
  uiPort?: number;
  /** undefined → in-memory */
  dbFile?: string;
  /**
   * SQLite pragmas for `dbFile`; PERSISTENT_STORE_PRAGMAS unless given ([] for SQLite's own
   * defaults: a rollback journal and a sync per commit).
   */
  sqlitePragmas?: string[];
  namespace: string;
  /** `--dynamic-config-value key=value` pairs (values JSON-encoded). */
  dynamicConfig?: Record<string, string | number | boolean>;
  log?: (m: string) => void;
}

export interface TemporalHandle {
  /** 127.0.0.1:<port> */
  address: string;
  uiUrl?: string;
  pid: number;
  /** Settles when the server process ends, for whatever reason. */
  exited: Promise<ExitStatus>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

/** Numeric values of temporal.api.enums.v1.IndexedValueType, as the operator API expects. */
const INDEXED_VALUE_TYPE = { Keyword: 2, Datetime: 6, KeywordList: 7 } as const;

export async function startTemporal(opts: TemporalOptions): Promise<TemporalHandle> {
  const log = opts.log ?? (() => undefined);
  for (const port of [opts.port, opts.uiPort]) {
    if (port !== undefined && (await isListening(port))) {
      throw new Error(`Port ${port} is already in use; choose other Temporal ports or stop that server.`);
    }
  }
  const cli = await findTemporalCli(log);
  if (opts.dbFile) await fs.mkdir(path.dirname(path.resolve(opts.dbFile)), { recursive: true });

  let stopping = false;
  const child = spawnManaged({
    name: 'temporal',
    command: cli,
    args: serverArgs(opts),
    isolateFromTerminal: true, // it must outlive the worker while it drains
    onLine: (line) => {
      // Its shutdown chatter (pollers losing the connection) is expected, not news.
      if (!stopping) log(`[temporal] ${line}`);
    },
  });
  const stop = async () => {
    stopping = true;
    await child.stop(20_000);
  };

  const address = `127.0.0.1:${opts.port}`;
  try {
    await waitUntilReady(address, opts.namespace, child, log);
  } catch (err) {
    await stop();
    throw err;
  }
  const uiUrl = opts.uiPort === undefined ? undefined : `http://localhost:${opts.uiPort}`;
  return { address, uiUrl, pid: child.pid, exited: child.exited, stop };
}

/**
 * The local stack's persistent store: write-ahead log, synced at checkpoints rather than at
 * every commit. Survives a killed server (the log is replayed); a power cut may lose the last
 * moments, which a local dev stack can afford. Measured in bench/ (docs/BENCHMARKS.md, "Fan-out
 * end to end" with BENCH_TEMPORAL_STORE): the default journal is the slowest store here.
 */
export const PERSISTENT_STORE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

/** The server's switch for task-queue fairness (off by default in 1.32). */
export const FAIRNESS_DYNAMIC_CONFIG = 'matching.enableFairness';

/**
 * One partition per task queue instead of the server's four: fairness takes turns within a
 * partition, and a task waits for a poll to reach its partition, so with one worker's few
 * pollers another operator's first workflow task waited ≈ 0.4 s beside a busy operator's
 * backlog on four partitions and ≈ 0.1 s on one (bench kyc-fairness, docs/BENCHMARKS.md). One
 * partition carries far more tasks a second than this stack makes. Same values as
 * deploy/temporal/dynamicconfig.
 */
export const TASK_QUEUE_PARTITIONS_DYNAMIC_CONFIG = {
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
} as const;

function serverArgs(opts: TemporalOptions): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--log-level',
    'warn',
  ];
  if (opts.uiPort === undefined) args.push('--headless');
  // No internet here or in CI: the UI's news feed would only log fetch errors.
  else args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  if (opts.dbFile) {
    args.push('--db-filename', path.resolve(opts.dbFile));
    for (const pragma of opts.sqlitePragmas ?? PERSISTENT_STORE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  // Task-queue fairness: one operator's backlog of workflow and activity tasks no longer queues
  // another operator's behind it (workflows/fairness.ts; docs/SCALING.md). Implies the
  // priority matcher (matching.useNewMatcher). The same keys as deploy/temporal/dynamicconfig.
  // The caller's own values come last and win (one flag per key).
  const dynamicConfig = {
    [FAIRNESS_DYNAMIC_CONFIG]: true,
    ...TASK_QUEUE_PARTITIONS_DYNAMIC_CONFIG,
    ...opts.dynamicConfig,
  };
  for (const [key, value] of Object.entries(dynamicConfig))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  // "default" always exists; naming it again is harmless but noisy.
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);
  return args;
}

/**
 * The gRPC port opens before the namespace is served, so readiness is a successful
 * describeNamespace. Then the search attributes are checked: start-dev registers
 * `--search-attribute` only when it creates the database, so a `.local/temporal.db` from an
 * older checkout would silently lack attributes added since.
 */
async function waitUntilReady(
  address: string,
  namespace: string,
  child: ManagedChild,
  log: (m: string) => void,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = '';
  while (Date.now() < deadline) {
    if (!child.isRunning()) {
      const status = await child.exited;
      throw new Error(
        `Temporal dev server exited during start-up (code ${status.code}, signal ${status.signal}):\n` +
          child.recentOutput().slice(-15).join('\n'),
      );
    }
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.workflowService.describeNamespace({ namespace });
      await registerMissingSearchAttributes(connection, namespace, log);
      return;
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await sleep(250);
  }
  throw new Error(`Temporal at ${address} was not ready within ${READY_TIMEOUT_MS / 1000}s: ${lastError}`);
}

async function registerMissingSearchAttributes(
  connection: Connection,
  namespace: string,
  log: (m: string) => void,
): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in (customAttributes ?? {})));
  if (missing.length === 0) return;
  log(`Registering search attributes: ${missing.map(([name]) => name).join(', ')}`);
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]])),
  });
}
