import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './project';

const run = promisify(execFile);

/** Pinned so every machine fuzzes with the same generator and checks. */
export const SCHEMATHESIS_VERSION = '4.32.5';
const VENV_DIR = path.join(PROJECT_ROOT, '.cache', 'schemathesis');
const ST_BIN = path.join(VENV_DIR, 'bin', 'st');

async function version(bin: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 60_000 });
    return /version\s+(\S+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * The schemathesis CLI (`st`), installed from PyPI into a project-local virtualenv
 * (`.cache/schemathesis`, git-ignored) on first use. A venv rather than `pip --target`:
 * schemathesis has console scripts and compiled dependencies that want a real prefix.
 */
export async function findSchemathesis(log: (m: string) => void): Promise<string> {
  if ((await version(ST_BIN)) === SCHEMATHESIS_VERSION) return ST_BIN;
  const python = process.env.PYTHON ?? 'python3';
  log(`Installing schemathesis==${SCHEMATHESIS_VERSION} into ${path.relative(PROJECT_ROOT, VENV_DIR)}`);
  try {
    if (!existsSync(path.join(VENV_DIR, 'bin', 'pip'))) {
      await fs.rm(VENV_DIR, { recursive: true, force: true });
      await run(python, ['-m', 'venv', VENV_DIR], { timeout: 120_000 });
    }
    await run(
      path.join(VENV_DIR, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`],
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(
      `Could not install schemathesis with ${python} (needs Python >= 3.9 with venv and PyPI access): ${(
        e.stderr || e.message
      )
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ')}`,
    );
  }
  const got = await version(ST_BIN);
  if (got !== SCHEMATHESIS_VERSION) throw new Error(`schemathesis installed but ${ST_BIN} reports ${got}`);
  return ST_BIN;
}
