/**
 * `npm run fuzz [-- --quick]`: schema-driven fuzzing of every endpoint in /openapi.json with
 * schemathesis (installed from PyPI into .cache/schemathesis on first use). Starts its own
 * throw-away Postgres, Temporal dev server, worker and API (loopback only), creates an
 * operator and key, and fails (exit 1) on any 5xx or any answer outside the documented schema.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createOperator } from '../core/admin/operators';
import { runMigrations } from '../core/db/migrate';
import { createPool } from '../core/db/pool';
import { spawnManaged, stopAllChildren, type ManagedChild } from './lib/children';
import { waitForHttpOk } from './lib/http';
import { PROJECT_ROOT } from './lib/project';
import { findSchemathesis } from './lib/schemathesis';
import { ensureDatabase, freePort, startPostgres, startTemporal } from './lib/services';
import { findTemporalCli } from './lib/temporal-cli';

const say = (m: string) => console.log(`[fuzz] ${m}`);
const quick = process.argv.includes('--quick');
const MAX_EXAMPLES = quick ? 10 : 60;
const MAX_SECONDS = quick ? 120 : 900;
const CHECKS = [
  'not_a_server_error',
  'response_schema_conformance',
  'status_code_conformance',
  'content_type_conformance',
  'negative_data_rejection',
];
const OUT_DIR = path.join(PROJECT_ROOT, '.local', 'fuzz');

function startApp(name: string, script: string, env: NodeJS.ProcessEnv): ManagedChild {
  return spawnManaged({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(PROJECT_ROOT, script)],
    cwd: PROJECT_ROOT,
    env,
    onLine: (line) => {
      // Only warnings and worse reach us (LOG_LEVEL=warn); a server error is worth seeing.
      if (process.env.FUZZ_VERBOSE || /"level":(50|60)/.test(line)) console.log(`[${name}] ${line}`);
    },
  });
}

interface Summary {
  operations: number;
  cases: number;
  failures: number;
  errors: number;
}

/** Reads the totals schemathesis prints at the end of a run. */
function summarise(output: string): Summary {
  const num = (re: RegExp) => Number(re.exec(output)?.[1] ?? NaN);
  return {
    operations: num(/API Operations:\s*\n?\s*Selected:\s*(\d+)/) || num(/Selected:\s*(\d+)/),
    cases: num(/(\d+)\s+generated/) || num(/Test cases:\s*\n?\s*(\d+)/),
    failures: num(/(\d+)\s+found\s+\d+\s+unique failures/) || num(/(\d+)\s+unique failures?/) || 0,
    errors: num(/(\d+)\s+errors?\b/) || 0,
  };
}

async function main(): Promise<number> {
  const st = await findSchemathesis(say);
  const temporalCli = await findTemporalCli(say);
  process.env.TEMPORAL_CLI_PATH = temporalCli;
  await fs.mkdir(OUT_DIR, { recursive: true });

  const [pg, temporal] = await Promise.all([
    freePort().then((port) => startPostgres({ dataDir: os.tmpdir(), port, persistent: false })),
    freePort().then((port) => startTemporal({ port, namespace: 'default' })),
  ]);
  try {
    const databaseUrl = await ensureDatabase(pg.url, 'fuzz');
    await runMigrations(databaseUrl);
    const apiPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'fuzz',
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      // The fuzzer sends thousands of requests a minute; rate limiting has its own tests.
      RATE_LIMIT_PER_MINUTE: '0',
      KYC_PROVIDER_URL: 'http://127.0.0.1:9',
    };
    const api = startApp('api', 'api/main.ts', env);
    const worker = startApp('worker', 'worker/main.ts', env);
    const baseUrl = `http://127.0.0.1:${apiPort}`;
    await waitForHttpOk(`${baseUrl}/readyz`, { timeoutMs: 120_000, givenUp: () => !api.isRunning() });

    const pool = createPool(databaseUrl, 2);
    const op = await createOperator(pool, { name: 'fuzz', mode: 'live', withTemplate: true });
    // The documented example id: the examples phase then reaches a real entity.
    await fetch(`${baseUrl}/operator-data-api/entities`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${op.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        entityType: 'player',
        externalId: 'player_12345',
        data: { email: 'fuzz@example.com' },
      }),
    });
    await pool.end();
    say(
      `API ${baseUrl}, operator ${op.operatorId}; ${MAX_EXAMPLES} examples per operation, ${MAX_SECONDS}s max`,
    );

    const args = [
      '--config-file',
      path.join(PROJECT_ROOT, 'scripts', 'schemathesis.toml'),
      'run',
      `${baseUrl}/openapi.json`,
      '--url',
      baseUrl,
      '--header',
      `Authorization: Bearer ${op.apiKey}`,
      '--checks',
      CHECKS.join(','),
      '--max-examples',
      String(MAX_EXAMPLES),
      '--max-time',
      String(MAX_SECONDS),
      '--phases',
      'examples,coverage,fuzzing',
      // One worker: with two threads, hypothesis (on Python 3.11) intermittently fails
      // inside its own AST parsing ("AST constructor recursion depth mismatch").
      '--workers',
      '1',
      '--seed',
      process.env.FUZZ_SEED ?? '20261126',
      '--request-timeout',
      '30',
      '--suppress-health-check',
      'all',
      '--output-sanitize',
      'true',
      '--report',
      'junit',
      '--report-dir',
      OUT_DIR,
    ];
    let output = '';
    const fuzz = spawnManaged({
      name: 'schemathesis',
      command: st,
      args,
      cwd: PROJECT_ROOT,
      env: { ...process.env, NO_COLOR: '1', COLUMNS: '160' },
      onLine: (line) => {
        output += line + '\n';
        console.log(line);
      },
    });
    const { code } = await fuzz.exited;
    await fs.writeFile(path.join(OUT_DIR, 'output.txt'), output);
    const s = summarise(output);
    say(
      `operations ${s.operations}, test cases ${s.cases}, failures ${s.failures}, errors ${s.errors}; schemathesis exit ${code}`,
    );
    await Promise.all([api.stop(20_000), worker.stop(20_000)]);
    return code === 0 ? 0 : 1;
  } finally {
    await Promise.all([temporal.stop(), pg.stop()]);
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(`[fuzz] ${err instanceof Error ? err.message : String(err)}`);
    await stopAllChildren();
    process.exit(1);
  },
);
