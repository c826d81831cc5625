import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnManaged, type ExitStatus } from '../../scripts/lib/children';
import { freePort } from '../../scripts/lib/ports';
import { PROJECT_ROOT, TSX_BIN } from '../../scripts/lib/project';
import { isAlive, type StackInfo } from '../../scripts/lib/stack-file';

/** Resolves when `ready()` holds; rejects with the stack's output if it exits or time runs out. */
async function waitFor(ready: () => boolean, exited: Promise<ExitStatus>, output: () => string, ms: number) {
  const deadline = Date.now() + ms;
  let exit: ExitStatus | undefined;
  void exited.then((e) => (exit = e));
  while (!ready()) {
    if (exit || Date.now() > deadline) {
      const why = exit ? `exited early (${JSON.stringify(exit)})` : `not ready after ${ms / 1000}s`;
      throw new Error(
        `dev stack ${why}; its output ended with:\n${output().split('\n').slice(-60).join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`still running after ${ms / 1000}s`), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('npm start (scripts/dev-stack.ts)', () => {
  it('comes up with every service, then on Ctrl-C exits 0 leaving no process or stack.json behind', async () => {
    const localDir = await mkdtemp(path.join(os.tmpdir(), 'dev-stack-test-'));
    // mkdtemp makes it 0700; Postgres runs as its own user (we are root in CI), and its cluster
    // is to stay in here (a private directory moves it out: private-directory.test.ts).
    await chmod(localDir, 0o755);
    const ports = {
      PORT: await freePort(),
      PG_PORT: await freePort(),
      TEMPORAL_PORT: await freePort(),
      TEMPORAL_UI_PORT: await freePort(),
      KYC_PORT: await freePort(),
    };
    const env: NodeJS.ProcessEnv = { ...process.env, LOCAL_DIR: localDir, NODE_ENV: 'development' };
    for (const [name, port] of Object.entries(ports)) env[name] = String(port);
    // The runner's shared services are for the other tests: this stack starts its own.
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;

    // In a session of its own, so that the SIGINT below reaches every process in it as a
    // terminal's Ctrl-C would, and managed so that it cannot outlive a killed test run.
    let output = '';
    const stack = spawnManaged({
      name: 'dev-stack',
      command: TSX_BIN,
      args: ['scripts/dev-stack.ts'],
      cwd: PROJECT_ROOT,
      env,
      stopSignal: 'SIGINT',
      isolateFromTerminal: true,
      onLine: (line) => (output += `${line}\n`),
    });
    const exited = stack.exited;
    const stackFile = path.join(localDir, 'stack.json');

    try {
      await waitFor(
        () => output.includes('Stack is up'),
        exited,
        () => output,
        150_000,
      );
      const info = JSON.parse(await readFile(stackFile, 'utf8')) as StackInfo;
      expect(Object.keys(info.pids)).toEqual(
        expect.arrayContaining(['postgres', 'temporal', 'api', 'worker']),
      );
      expect(info.temporalAddress).toBe(`127.0.0.1:${ports.TEMPORAL_PORT}`);
      expect(info.databaseUrl).toMatch(new RegExp(`:${ports.PG_PORT}/igaming$`));
      expect(output).toContain(`http://localhost:${ports.PORT}/docs`);
      expect((await fetch(`http://127.0.0.1:${ports.PORT}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`)).status).toBe(200);

      // The admin CLI finds this stack's database and its WEBHOOK_ALLOW_PRIVATE_NETWORKS (true, the
      // local default) in stack.json: a loopback receiver is accepted with nothing set for the CLI.
      expect(info.webhookAllowPrivateNetworks).toBe(true);
      const cliEnv = { ...env };
      delete cliEnv.WEBHOOK_ALLOW_PRIVATE_NETWORKS;
      const cli = (...args: string[]) =>
        execFileSync(TSX_BIN, ['cli/main.ts', ...args], { cwd: PROJECT_ROOT, env: cliEnv, encoding: 'utf8' });
      const { operatorId } = JSON.parse(cli('operators', 'create', '--name', 'local', '--json')) as {
        operatorId: string;
      };
      expect(cli('webhooks', 'add', operatorId, '--url', 'http://127.0.0.1:9/hooks')).toContain(
        'http://127.0.0.1:9/hooks',
      );

      // The terminal: no access lines, a status line read from both /metrics; each process's
      // full output in .local/logs/<process>.log, the worker's (Temporal SDK included) as JSON lines.
      await fetch(`http://127.0.0.1:${ports.PORT}/operator-data-api/templates`);
      await waitFor(
        () => /events \d+\/s {2}backlog \d+ .* workflows completed \d/.test(output),
        exited,
        () => output,
        20_000,
      );
      expect(output).not.toContain('"msg":"request"');
      const logs = path.join(localDir, 'logs');
      for (const name of ['api', 'worker', 'postgres', 'temporal', 'kyc']) {
        expect(existsSync(path.join(logs, `${name}.log`))).toBe(true);
      }
      expect(await readFile(path.join(logs, 'api.log'), 'utf8')).toContain('"msg":"request"');
      const workerLines = (await readFile(path.join(logs, 'worker.log'), 'utf8')).split('\n').filter(Boolean);
      const entries = workerLines.map((line) => JSON.parse(line) as { component?: string; msg: string });
      expect(entries).toContainEqual(expect.objectContaining({ component: 'temporal-sdk' }));
      // No deploy step locally: the worker made its build (the bundle's hash) the current version.
      const workerLog = path.join(logs, 'worker.log');
      await waitFor(
        () => readFileSync(workerLog, 'utf8').includes('"msg":"current version set'),
        exited,
        () => output,
        30_000,
      );
      const versionLine = readFileSync(workerLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { msg: string; version?: string; changed?: boolean })
        .find((e) => e.msg.startsWith('current version set'));
      expect(versionLine).toEqual(
        expect.objectContaining({ version: expect.stringMatching(/^igaming-event-ingest:wf-[0-9a-f]{16}$/) }),
      );

      process.kill(-stack.pid, 'SIGINT');
      expect(await within(exited, 60_000)).toEqual({ code: 0, signal: null });

      const survivors = Object.entries({ devStack: info.pid, ...info.pids }).filter(([, pid]) =>
        isAlive(pid),
      );
      expect(survivors).toEqual([]);
      expect(existsSync(stackFile)).toBe(false);
    } finally {
      if (stack.isRunning()) {
        process.kill(-stack.pid, 'SIGKILL');
        await exited;
      }
      await rm(localDir, { recursive: true, force: true });
    }
  }, 240_000);
});
