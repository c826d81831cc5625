import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { answersVersion, memoiseSearch, onPath } from './binaries';
import { NPM_PACKAGE, npmChromium, npmPackageInstalled, pinnedVersion } from './chromium-npm';

const run = promisify(execFile);

type Log = (msg: string) => void;

const NAMES = ['chromium', 'chromium-browser', 'google-chrome'];
const DEBIAN_PATH = '/usr/bin/chromium';
const APT_INSTALL = 'apt-get install -y --no-install-recommends chromium';
/** apt-get waits this long for another apt/dpkg (a parallel `npm test`) to release its lock. */
const APT_LOCK_TIMEOUT_S = '300';

/**
 * Returns an absolute path to a Chromium that answers `--version`: CHROMIUM_PATH, then the
 * one `npm ci` brings (npm `@sparticuz/chromium`, linux-x64), then `chromium` /
 * `chromium-browser` / `google-chrome` on PATH, then /usr/bin/chromium; when none of these
 * works and we are root on Debian, installs the distribution's package (this machine reaches
 * package registries but not Playwright's or Chrome's browser downloads). The npm build comes
 * before PATH so every machine runs the same pinned browser. Logs which source it used. Memoised.
 */
export const findChromium = memoiseSearch((log: Log = () => undefined) => search(log));

async function search(log: Log): Promise<string> {
  const failures: string[] = [];
  const tryBin = async (label: string, find: () => Promise<string | undefined> | string | undefined) => {
    let bin: string | undefined;
    try {
      bin = await find();
    } catch (err) {
      failures.push(`${label}: ${(err as Error).message.split('\n')[0]}`);
      return undefined;
    }
    if (!bin) return undefined;
    if (await answersVersion(bin, /chrom/i)) {
      log(`Chromium from ${label}: ${bin}`);
      return bin;
    }
    failures.push(`${label}: ${bin} did not answer --version`);
    return undefined;
  };

  const envBin = process.env.CHROMIUM_PATH ? path.resolve(process.env.CHROMIUM_PATH) : undefined;
  let bin = await tryBin('CHROMIUM_PATH', () => envBin);
  bin ??= await tryBin(`npm ${NPM_PACKAGE}`, () => npmChromium(log));
  for (const name of NAMES) bin ??= await tryBin(`PATH (${name})`, () => onPath(name));
  bin ??= await tryBin(DEBIAN_PATH, () => (existsSync(DEBIAN_PATH) ? DEBIAN_PATH : undefined));
  if (bin) return bin;

  try {
    await aptInstall(log);
    const installed = existsSync(DEBIAN_PATH) ? DEBIAN_PATH : onPath('chromium');
    if (!installed) failures.push('apt-get: installed, but no chromium binary appeared');
    bin = await tryBin('apt-get', () => installed);
    if (bin) return bin;
  } catch (err) {
    failures.push(`apt-get: ${(err as Error).message}`);
  }
  throw new Error(
    [
      'No Chromium for the browser test (test/ui/temporal-ui.test.ts). Tried:',
      ...failures.map((f) => `  - ${f}`),
      ...howToInstall(),
    ].join('\n'),
  );
}

/** Exactly what would fix it on this machine, best first. */
function howToInstall(): string[] {
  const fixes: string[] = [];
  // `npm ci` helps only where the package is missing; a copy that does not run is in the list above.
  if (process.platform === 'linux' && process.arch === 'x64' && !npmPackageInstalled())
    fixes.push(
      `\`npm ci\` in this project (installs ${NPM_PACKAGE} ${pinnedVersion()}, a linux-x64 Chromium)`,
    );
  if (existsSync('/etc/debian_version'))
    fixes.push(`Debian's package: \`${process.getuid?.() === 0 ? '' : 'sudo '}${APT_INSTALL}\``);
  fixes.push('any Chromium or Chrome, with CHROMIUM_PATH set to its binary');
  return ['Install one of:', ...fixes.map((f) => `  - ${f}`)];
}

/**
 * Installs Debian's `chromium` without its recommends (fonts and drivers a headless run does
 * not need). The package index is refreshed only when the install fails, as a stale or
 * empty index is the usual reason, and an update costs a minute we rarely need to spend.
 */
async function aptInstall(log: Log): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('not root: cannot install packages');
  if (!existsSync('/etc/debian_version') || !onPath('apt-get'))
    throw new Error('not a Debian system with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', `DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT_S}`];
  const install = () =>
    run('apt-get', [...lock, 'install', '-y', '--no-install-recommends', 'chromium'], {
      env,
      timeout: 900_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  log(`Installing Chromium: ${APT_INSTALL}`);
  try {
    await install();
    return;
  } catch (err) {
    log(`apt-get install failed (${lastLine(err)}); running apt-get update and trying again`);
  }
  try {
    await run('apt-get', [...lock, 'update'], { env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    await install();
  } catch (err) {
    throw new Error(lastLine(err));
  }
}

function lastLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = (e.stderr?.trim() || e.message || String(err)).split('\n');
  return text[text.length - 1] ?? '';
}
