/**
 * `npm start`: the whole stack in one foreground process — embedded Postgres, the Temporal
 * dev server (with UI), migrations, the sandbox KYC provider, the API and the worker.
 * Ctrl-C stops it in dependency order: API and worker drain first, then Temporal, then Postgres.
 * Each process logs to .local/logs/<process>.log; the terminal shows the URLs, warnings and
 * errors, and a status line (`--verbose` or LOG_LEVEL: every line instead).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseFlag } from '../core/config';
import { runMigrations } from '../core/db/migrate';
import { killAllChildren, spawnProjectScript, stopAllChildren, type ExitStatus } from './lib/children';
import { readDevStackSettings, type DevStackSettings } from './lib/dev-stack-settings';
import { waitForHttpOk } from './lib/http';
import { freePort, sleep } from './lib/ports';
import { ensureDatabase, startPostgres, startTemporal } from './lib/services';
import { createStackOutput } from './lib/stack-output';
import { formatStatus, takeSample, type Sample } from './lib/stack-status';
import { localDir, readStackFile, removeStackFile, writeStackFile, type StackInfo } from './lib/stack-file';
import { findTemporalCli } from './lib/temporal-cli';

const verbose = process.argv.includes('--verbose') || Boolean(process.env.LOG_LEVEL);
const output = createStackOutput({
  logDir: path.join(localDir(), 'logs'),
  verbose,
  tty: Boolean(process.stdout.isTTY),
  write: (text) => process.stdout.write(text),
  columns: () => process.stdout.columns,
});
const say = (m: string) => output.say(`[dev-stack] ${m}`);
/** Postgres and Temporal prefix their server's lines with `[name] `; the rest is for the reader. */
const serviceLog = (m: string) => {
  const server = /^\[(postgres|temporal)\] /.exec(m);
  if (server) output.line(server[1]!, m.slice(server[0].length));
  else output.say(m);
};
const STATUS_INTERVAL_MS = 2000;
let statusTimer: NodeJS.Timeout | undefined;

/**
 * Stop order: everything in a tier stops together, tiers stop one after another. The KYC
 * sandbox outlives the worker, whose in-flight activities may still be calling it.
 */
const TIERS = ['apps', 'providers', 'temporal', 'postgres'] as const;
type Tier = (typeof TIERS)[number];
const stoppers: Record<Tier, Array<{ name: string; stop: () => Promise<unknown> }>> = {
  apps: [],
  providers: [],
  temporal: [],
  postgres: [],
};
const pids: Record<string, number> = {};

let stopping = false;
let shutdownStarted: Promise<void> | undefined;
let ownsStackFile = false;
let settings: DevStackSettings | undefined;

class Interrupted extends Error {}

function shutdown(code: number, reason: string): Promise<void> {
  shutdownStarted ??= (async () => {
    stopping = true;
    clearInterval(statusTimer);
    say(reason);
    for (const tier of TIERS) {
      await Promise.all(
        stoppers[tier].map(({ name, stop }) =>
          stop().catch((err: unknown) => say(`stopping ${name} failed: ${(err as Error).message}`)),
        ),
      );
    }
    // Anything whose start was still under way when the signal came.
    await stopAllChildren();
    if (ownsStackFile && settings) removeStackFile(settings.localDir);
    await output.close();
    say(code === 0 ? 'Stopped.' : 'Stopped after a failure.');
    process.exit(code);
  })();
  return shutdownStarted;
}

function register(
  tier: Tier,
  name: string,
  pid: number,
  exited: Promise<ExitStatus>,
  stop: () => Promise<unknown>,
) {
  pids[name] = pid;
  stoppers[tier].push({ name, stop });
  void exited.then(async ({ code, signal }) => {
    if (stopping) return;
    // A terminal's Ctrl-C reaches the children too; give our own SIGINT handler the first word.
    await sleep(500);
    if (!stopping)
      void shutdown(1, `${name} exited unexpectedly (code ${code}, signal ${signal}); stopping the stack.`);
  });
}

/** Called between start-up steps so a Ctrl-C during start-up starts nothing further. */
function checkpoint(): void {
  if (stopping) throw new Interrupted();
}

function startApp(tier: Tier, name: string, script: string, env: NodeJS.ProcessEnv): void {
  const child = spawnProjectScript(script, {
    name,
    env,
    // API and worker stop first anyway, so a terminal's Ctrl-C may reach them directly.
    isolateFromTerminal: tier !== 'apps',
    onLine: (line) => output.line(name, line),
  });
  register(tier, name, child.pid, child.exited, () => child.stop(20_000));
}

async function startDatabase(s: DevStackSettings): Promise<string> {
  if (s.databaseUrl) {
    say('Using DATABASE_URL from the environment');
    return s.databaseUrl;
  }
  const pg = await startPostgres({
    dataDir: s.pgDataDir,
    port: s.pgPort,
    persistent: true,
    log: serviceLog,
  });
  register('postgres', 'postgres', pg.pid, pg.exited, pg.stop);
  checkpoint();
  return ensureDatabase(pg.url, 'igaming');
}

async function startTemporalServer(s: DevStackSettings): Promise<{ address: string; uiUrl?: string }> {
  if (s.temporalAddress) {
    say(`Using TEMPORAL_ADDRESS ${s.temporalAddress} from the environment`);
    return { address: s.temporalAddress };
  }
  const temporal = await startTemporal({
    port: s.temporalPort,
    uiPort: s.temporalUiPort,
    dbFile: s.temporalDbFile,
    namespace: s.namespace,
    log: serviceLog,
  });
  register('temporal', 'temporal', temporal.pid, temporal.exited, temporal.stop);
  return temporal;
}

async function main(): Promise<void> {
  const s = (settings = readDevStackSettings());
  await fs.mkdir(s.localDir, { recursive: true });
  const running = readStackFile(s.localDir);
  if (running) {
    throw new Error(`A dev stack is already running (pid ${running.pid}, ${running.apiUrl}); stop it first.`);
  }
  removeStackFile(s.localDir); // left by a stack that was killed: its URLs may no longer hold

  // Fail before starting anything if the Temporal CLI cannot be had.
  if (!s.temporalAddress) await findTemporalCli(say);
  checkpoint();

  const databaseUrl = await startDatabase(s);
  checkpoint();
  const { applied } = await runMigrations(databaseUrl);
  say(applied.length > 0 ? `Applied migrations: ${applied.join(', ')}` : 'Database schema is up to date');
  checkpoint();

  const temporal = await startTemporalServer(s);
  checkpoint();

  const kycProviderUrl = `http://127.0.0.1:${s.kycPort}`;
  const workerMetricsPort = s.workerMetricsPort ?? (await freePort());
  startApp('providers', 'kyc', 'scripts/kyc-sandbox.ts', { ...process.env, PORT: String(s.kycPort) });
  const appEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: s.namespace,
    TEMPORAL_TASK_QUEUE: s.taskQueue,
    PORT: String(s.apiPort),
    KYC_PROVIDER_URL: kycProviderUrl,
    // Where the sandbox provider delivers its webhooks for an operator's sandbox connection.
    PUBLIC_API_URL: process.env.PUBLIC_API_URL ?? `http://127.0.0.1:${s.apiPort}`,
    // A local stack's webhook receivers are local too; production keeps the default (refused).
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS ?? 'true',
  };
  const workerEnv = { ...appEnv, WORKER_METRICS_PORT: String(workerMetricsPort) };
  startApp('apps', 'api', 'api/main.ts', appEnv);
  startApp('apps', 'worker', 'worker/main.ts', workerEnv);

  const apiUrl = `http://localhost:${s.apiPort}`;
  await waitForHttpOk(`http://127.0.0.1:${s.apiPort}/readyz`, {
    timeoutMs: 120_000,
    givenUp: () => stopping,
  });
  checkpoint();

  const info: StackInfo = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    apiUrl,
    docsUrl: `${apiUrl}/docs`,
    databaseUrl,
    temporalAddress: temporal.address,
    temporalNamespace: s.namespace,
    temporalTaskQueue: s.taskQueue,
    temporalUiUrl: temporal.uiUrl,
    kycProviderUrl,
    webhookAllowPrivateNetworks: parseFlag(appEnv.WEBHOOK_ALLOW_PRIVATE_NETWORKS) ?? false,
    pids: { ...pids },
  };
  await writeStackFile(info, s.localDir);
  ownsStackFile = true;
  printBanner(info, path.join(s.localDir, 'logs'));
  if (!verbose) startStatusLine(s.apiPort, workerMetricsPort);
}

/** Refreshes the status line from the API's and the worker's /metrics. */
function startStatusLine(apiPort: number, workerMetricsPort: number): void {
  const sample = () =>
    takeSample(`http://127.0.0.1:${apiPort}/metrics`, `http://127.0.0.1:${workerMetricsPort}/metrics`);
  let previous: Sample | undefined;
  let busy = false;
  statusTimer = setInterval(() => {
    if (busy || stopping) return;
    busy = true;
    void sample()
      .then((current) => {
        if (previous && !stopping) output.status(formatStatus(previous, current));
        previous = current;
      })
      .finally(() => (busy = false));
  }, STATUS_INTERVAL_MS);
}

function printBanner(info: StackInfo, logDir: string): void {
  const rows: Array<[string, string | undefined]> = [
    ['API', info.apiUrl],
    ['API docs', info.docsUrl],
    ['Temporal UI', info.temporalUiUrl ?? `(external Temporal at ${info.temporalAddress})`],
    ['Postgres', info.databaseUrl],
  ];
  const lines = [
    '',
    'Stack is up.',
    ...rows.map(([label, value]) => `  ${label.padEnd(12)} ${value}`),
    '',
    `Logs: ${path.relative(process.cwd(), logDir) || logDir}/<process>.log (npm start -- --verbose: all of it here)`,
    'Next: npm run cli -- operators create --name demo --json',
    'Ctrl-C stops everything.',
    '',
  ];
  for (const line of lines) output.say(line);
}

// Covers exits that bypass shutdown(), such as an uncaught exception.
process.on('exit', () => {
  if (ownsStackFile && settings) removeStackFile(settings.localDir);
});

let firstSignalAt = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (!stopping) {
      firstSignalAt = Date.now();
      void shutdown(0, `${sig} received; stopping API and worker, then Temporal, then Postgres.`);
      return;
    }
    // The same Ctrl-C can arrive twice (terminal and tsx's relay); only a later one means "now".
    if (Date.now() - firstSignalAt < 1000) return;
    say('Second signal: killing everything without waiting.');
    killAllChildren();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  if (err instanceof Interrupted) return;
  void shutdown(1, `Start-up failed: ${err instanceof Error ? err.message : String(err)}`);
});
