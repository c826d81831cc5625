import { readdir, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { spawnManaged, type ExitStatus, type ManagedChild } from '../../scripts/lib/children';
import { freePort } from '../../scripts/lib/ports';
import { rootCacheDirOf } from '../../scripts/lib/postgres-user';
import { PROJECT_ROOT } from '../../scripts/lib/project';
import type { StackInfo } from '../../scripts/lib/stack-file';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

/**
 * A project cloned inside a private (mode 700) directory, as /root is, must still give
 * `npm test` its services and `npm start` a persistent cluster. As root, embedded Postgres runs
 * as the `postgres` user, who cannot enter it: the binaries and the cluster move to a cache
 * outside. As anyone else, Postgres runs as the owner of the directory and nothing moves. The
 * clone here is the working tree hard-linked into such a directory (node_modules included, so
 * the binaries really are behind the closed door), run by its own entry points.
 */
describe(`as ${asRoot ? 'root' : 'a non-root user'}, from a fresh clone inside a mode-700 directory`, () => {
  let privateDir: string;
  let clone: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // Under the project's .local: hard links need the same file system, and it is git-ignored.
    await mkdir(path.join(PROJECT_ROOT, '.local'), { recursive: true });
    privateDir = await mkdtemp(path.join(PROJECT_ROOT, '.local', 'private-'));
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
    clone = path.join(privateDir, 'clone');
    await mkdir(clone);
    const entries = (await readdir(PROJECT_ROOT)).filter((e) => !['.git', '.local', '.cache'].includes(e));
    await run('cp', ['-al', ...entries.map((e) => path.join(PROJECT_ROOT, e)), clone]);
    env = { ...process.env, NODE_ENV: 'development' };
    // The clone starts its own services; the Temporal CLI the runner found is reused (no install).
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    delete env.LOCAL_DIR;
  }, 60_000);

  afterAll(async () => {
    if (privateDir) await rm(privateDir, { recursive: true, force: true });
    if (clone) await rm(rootCacheDirOf(clone), { recursive: true, force: true });
  });

  /** Runs one of the clone's entry points; `output` grows as it prints. */
  function start(script: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const out = { text: '' };
    const child = spawnManaged({
      name: script,
      command: process.execPath,
      args: ['--import', 'tsx', path.join(clone, script), ...args],
      cwd: clone,
      env: { ...env, ...extraEnv },
      stopSignal: 'SIGINT',
      isolateFromTerminal: true,
      onLine: (line) => (out.text += `${line}\n`),
    });
    return { child, out };
  }

  const until = async (ready: () => boolean, child: ManagedChild, out: { text: string }, ms: number) => {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (!child.isRunning() || Date.now() > deadline) {
        throw new Error(`${child.name} did not get there; its output ended with:\n${out.text.slice(-4000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  it('npm test: the test services start (as root, the Postgres binaries copied out) and a test file passes', async () => {
    const { child, out } = start('scripts/test.ts', ['test/api/readiness.test.ts']);
    const status: ExitStatus = await child.exited;
    expect({ status, tail: out.text.slice(-1500) }).toMatchObject({ status: { code: 0 } });
    const moved = `[test] Postgres runs as the postgres user, which cannot enter ${privateDir}: its binaries live in ${rootCacheDirOf(clone)}`;
    if (asRoot) expect(out.text).toContain(moved);
    else expect(out.text).not.toContain('Postgres runs as the postgres user');
    expect(out.text).toMatch(/^3 passed, 0 failed$/m);
    expect(out.text).not.toContain('EACCES');
  }, 180_000);

  it('npm start: the stack comes up, its data (as root, in the cache) survives a restart', async () => {
    const ports = {
      PORT: await freePort(),
      PG_PORT: await freePort(),
      TEMPORAL_PORT: await freePort(),
      TEMPORAL_UI_PORT: await freePort(),
      KYC_PORT: await freePort(),
    };
    const portEnv = Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)]));
    const upAndDown = async (whileUp: (info: StackInfo) => Promise<unknown>) => {
      const { child, out } = start('scripts/dev-stack.ts', [], portEnv);
      try {
        await until(() => out.text.includes('Stack is up'), child, out, 150_000);
        const info = JSON.parse(
          await readFile(path.join(clone, '.local', 'stack.json'), 'utf8'),
        ) as StackInfo;
        await whileUp(info);
      } finally {
        await child.stop(60_000);
      }
      expect(await child.exited).toEqual({ code: 0, signal: null });
      return out.text;
    };
    const query = async (url: string, sql: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<{ name: string }>(sql)).rows;
      } finally {
        await client.end();
      }
    };

    const first = await upAndDown((info) =>
      query(info.databaseUrl, `insert into operators (id, name, mode) values ('op_kept', 'kept', 'live')`),
    );
    const cache = rootCacheDirOf(clone);
    // Where the cluster lives: the cache outside the private directory (root), or the clone's own .local.
    const clustersDir = asRoot ? path.join(cache, 'clusters') : path.join(clone, '.local');
    if (asRoot) {
      expect(first).toContain(
        `Postgres runs as the postgres user, which cannot enter ${privateDir}: its binaries and its data (kept between runs) live in ${cache}`,
      );
      expect(existsSync(path.join(clone, '.local', 'postgres'))).toBe(false);
    } else {
      expect(first).not.toContain('Postgres runs as the postgres user');
      expect(existsSync(cache)).toBe(false);
    }
    const clusters = (await readdir(clustersDir)).filter((d) => d.startsWith('postgres'));
    expect(clusters).toEqual([asRoot ? expect.stringMatching(/^postgres-[0-9a-f]{12}$/) : 'postgres']);

    const second = await upAndDown(async (info) => {
      expect(await query(info.databaseUrl, `select name from operators where id = 'op_kept'`)).toEqual([
        { name: 'kept' },
      ]);
    });
    expect(second).not.toContain('Initialising Postgres cluster');
    expect((await readdir(clustersDir)).filter((d) => d.startsWith('postgres'))).toEqual(clusters);
  }, 400_000);
});
