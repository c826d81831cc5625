/**
 * `npm test [jest args…]`: starts a throwaway Postgres and an in-memory Temporal dev server
 * (unless DATABASE_URL / TEMPORAL_ADDRESS point at running ones), runs jest against them,
 * stops them, and ends with one plain `N passed, N failed` line that CI can read.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnManaged, stopAllChildren, type ManagedChild } from './lib/children';
import { JEST_BIN, PROJECT_ROOT } from './lib/project';
import { findChromium } from './lib/chromium';
import { freePort, startPostgres, startTemporal } from './lib/services';
import { findTemporalCli } from './lib/temporal-cli';

// Per run: several `npm test` may share one checkout, and must not read each other's results.
const RESULTS_FILE = path.join(PROJECT_ROOT, '.local', `jest-results.${process.pid}.json`);
const say = (m: string) => console.log(`[test] ${m}`);

interface JestResults {
  success: boolean;
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numRuntimeErrorTestSuites: number;
}

let interrupted = false;
let jest: ManagedChild | undefined;

async function startServices(env: NodeJS.ProcessEnv): Promise<Array<() => Promise<void>>> {
  try {
    env.TEMPORAL_CLI_PATH = await findTemporalCli(say);
  } catch (err) {
    // Only needed when we start Temporal ourselves; tests that need it say so themselves.
    if (!env.TEMPORAL_ADDRESS) throw err;
    say(`No Temporal CLI for tests that start their own server: ${(err as Error).message}`);
  }
  // In parallel: both take a second or two, and CI time is shared with the tests.
  const [pg, temporal] = await Promise.allSettled([
    env.DATABASE_URL
      ? undefined
      : freePort().then((port) =>
          startPostgres({
            dataDir: os.tmpdir(),
            port,
            persistent: false,
            statementStats: true,
            notice: (m) => say(m),
          }),
        ),
    env.TEMPORAL_ADDRESS
      ? undefined
      : Promise.all([freePort(), freePort()]).then(([port, uiPort]) =>
          // With its Web UI: the browser test searches it as ops staff would.
          startTemporal({
            port,
            uiPort,
            namespace: env.TEMPORAL_NAMESPACE ?? 'default',
            // Each test stack's worker is a Worker Deployment of its own (test/support/stack.ts);
            // the server's default allows 100 per namespace, about what one run starts.
            dynamicConfig: { 'matching.maxDeployments': 1000 },
          }),
        ),
  ]);
  const stops = [pg, temporal].flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value.stop] : []));
  const failure = [pg, temporal].find((r) => r.status === 'rejected');
  if (failure) {
    await Promise.all(stops.map((stop) => stop()));
    throw failure.reason;
  }
  if (pg.status === 'fulfilled' && pg.value) {
    env.DATABASE_URL = pg.value.url;
    say(`Postgres ${pg.value.url}`);
  }
  if (temporal.status === 'fulfilled' && temporal.value) {
    env.TEMPORAL_ADDRESS = temporal.value.address;
    if (temporal.value.uiUrl) env.TEMPORAL_UI_URL = temporal.value.uiUrl;
    say(`Temporal ${temporal.value.address} (UI ${temporal.value.uiUrl ?? 'none'})`);
  }
  return stops;
}

/**
 * The browser test's Chromium, found or installed here like the Temporal CLI. Not fatal:
 * the other tests do not need it, and the browser test fails with this message instead.
 */
async function findBrowser(env: NodeJS.ProcessEnv): Promise<void> {
  try {
    env.CHROMIUM_PATH = await findChromium(say);
  } catch (err) {
    env.CHROMIUM_UNAVAILABLE = (err as Error).message;
    say((err as Error).message);
  }
}

async function runJest(env: NodeJS.ProcessEnv, args: string[]): Promise<number> {
  jest = spawnManaged({
    name: 'jest',
    command: JEST_BIN,
    args: ['--json', `--outputFile=${RESULTS_FILE}`, ...args],
    cwd: PROJECT_ROOT,
    env,
    inheritStdio: true,
  });
  const { code, signal } = await jest.exited;
  return code ?? (signal ? 1 : 0);
}

function readResults(): JestResults | undefined {
  try {
    return JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as JestResults;
  } catch {
    return undefined;
  }
}

/** Turns jest's results into the closing line; anything that is not a clean run counts as failed. */
function summarise(jestCode: number): { line: string; ok: boolean } {
  const results = readResults();
  if (!results) {
    say(`jest wrote no results to ${RESULTS_FILE}`);
    return { line: '0 passed, 1 failed', ok: false };
  }
  let failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
  if (results.numTotalTests === 0) say('jest ran no tests');
  if (jestCode !== 0 && failed === 0) say(`jest exited with code ${jestCode} although no test failed`);
  if ((results.numTotalTests === 0 || jestCode !== 0) && failed === 0) failed = 1;
  const skipped = results.numPendingTests + results.numTodoTests;
  const line = `${results.numPassedTests} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
  return { line, ok: failed === 0 && jestCode === 0 };
}

async function main(): Promise<number> {
  await fs.mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await fs.rm(RESULTS_FILE, { force: true });
  say(`Node ${process.version}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE || 'default',
  };
  const [stops] = await Promise.all([startServices(env), findBrowser(env)]);
  let jestCode = 1;
  try {
    if (!interrupted) jestCode = await runJest(env, process.argv.slice(2));
  } finally {
    await Promise.all(
      stops.map((stop) => stop().catch((err: unknown) => say(`stop failed: ${String(err)}`))),
    );
  }
  const { line, ok } = summarise(jestCode);
  await fs.rm(RESULTS_FILE, { force: true });
  console.log(line);
  if (interrupted) return 130;
  return ok ? 0 : jestCode || 1;
}

// A terminal's Ctrl-C reaches jest directly, a kill of this process alone does not: stop it
// either way, then let the normal path stop the services and report.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    interrupted = true;
    void jest?.stop(10_000);
  });
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    await stopAllChildren();
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
