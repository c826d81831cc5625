import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createBrotliDecompress } from 'node:zlib';
import { PROJECT_ROOT } from './project';

const run = promisify(execFile);

type Log = (msg: string) => void;

/** The devDependency that ships Chromium inside its npm tarball (no install script, no download). */
export const NPM_PACKAGE = '@sparticuz/chromium';
const CACHE_DIR = path.join(PROJECT_ROOT, '.cache', 'chromium');
/** The wrapper script, the path handed to Playwright: it sets the library and font paths. */
const WRAPPER = 'chromium';
const BINARY = 'chrome-headless-shell';

/** The version package.json pins, for messages that say exactly what `npm ci` brings. */
export function pinnedVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  return pkg.devDependencies?.[NPM_PACKAGE] ?? '(not in package.json)';
}

/**
 * The Chromium that `npm ci` brought, unpacked once into `.cache/chromium/<version>` and
 * reused after. Throws a one-line reason when this machine cannot use it.
 */
export async function npmChromium(log: Log): Promise<string> {
  // The package's tarball holds an x64 glibc build only; its arm64 build is a separate download.
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`ships a linux-x64 build only; this is ${process.platform}-${process.arch}`);
  const pkgDir = packageDir();
  const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const finalDir = path.join(CACHE_DIR, version);
  const wrapper = path.join(finalDir, WRAPPER);
  if (!existsSync(wrapper)) await unpackOnce(pkgDir, finalDir, version, log);
  try {
    await run(wrapper, ['--version'], { timeout: 30_000 });
  } catch (err) {
    // Its last line names what is missing (a shared library, usually), for the failure message.
    const text = ((err as { stderr?: string }).stderr?.trim() || (err as Error).message).split('\n');
    throw new Error(`${wrapper} --version failed: ${text[text.length - 1] ?? ''}`);
  }
  return wrapper;
}

/** Whether `npm ci` put the package in node_modules (on any platform). */
export function npmPackageInstalled(): boolean {
  try {
    packageDir();
    return true;
  } catch {
    return false;
  }
}

function packageDir(): string {
  try {
    // Its `exports` hide package.json, so resolve the entry point (build/index.js) and go up.
    return path.dirname(path.dirname(require.resolve(NPM_PACKAGE)));
  } catch {
    throw new Error(`not installed (run \`npm ci\`: it is a devDependency)`);
  }
}

/**
 * Unpacks into a private temp dir, then renames it into place: two `npm test` runs may get
 * here at once, and a rename is atomic where a half-written 200 MB binary is not. Not the
 * package's own `executablePath()`: it unpacks to a fixed /tmp/chromium that every user on
 * the machine shares (another user's copy is not ours to run) and that a parallel run can
 * find half-written.
 */
async function unpackOnce(pkgDir: string, finalDir: string, version: string, log: Log): Promise<void> {
  log(`Unpacking Chromium from npm ${NPM_PACKAGE} ${version} into ${finalDir}`);
  await fs.mkdir(CACHE_DIR, { recursive: true });
  const tmpDir = await fs.mkdtemp(path.join(CACHE_DIR, '.tmp-'));
  try {
    const bin = path.join(pkgDir, 'bin');
    await pipeline(
      createReadStream(path.join(bin, 'chromium.br')),
      createBrotliDecompress(),
      createWriteStream(path.join(tmpDir, BINARY), { mode: 0o755 }),
    );
    // al2023: NSS, NSPR and expat, the only libraries beyond glibc the binary links against,
    // so it runs without the distribution's libnss3. Fonts: Open Sans, for machines with none.
    await untarBrotli(path.join(bin, 'al2023.tar.br'), tmpDir);
    await untarBrotli(path.join(bin, 'fonts.tar.br'), tmpDir);
    await fs.writeFile(path.join(tmpDir, 'fonts.conf'), FONTS_CONF);
    await fs.writeFile(path.join(tmpDir, WRAPPER), wrapperScript(version), { mode: 0o755 });
    await fs.chmod(tmpDir, 0o755); // mkdtemp's 0700 would hide it from the project's other users
    await fs.rename(tmpDir, finalDir);
  } catch (err) {
    await fs.rm(tmpDir, { recursive: true, force: true });
    // Another run renamed its copy into place first: use that one.
    if (existsSync(path.join(finalDir, WRAPPER))) return;
    throw err;
  }
}

/** Through a plain .tar file and the system's `tar`, which every glibc Linux has. */
async function untarBrotli(archive: string, dir: string): Promise<void> {
  const tarFile = path.join(dir, `${path.basename(archive, '.br')}`);
  await pipeline(createReadStream(archive), createBrotliDecompress(), createWriteStream(tarFile));
  await run('tar', ['-xf', tarFile, '-C', dir, '--no-same-owner']);
  await fs.rm(tarFile);
}

/**
 * The system's fonts where it has a fontconfig set-up, plus the bundled ones; paths relative
 * to this file, as the directory is renamed after it is written. The package's own fonts.conf
 * names Lambda's fixed paths (/var/task, /tmp/fonts) instead.
 */
const FONTS_CONF = `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir prefix="relative">fonts</dir>
  <cachedir prefix="relative">fontconfig-cache</cachedir>
</fontconfig>
`;

/** Paths relative to the script's own location, for the same reason. */
function wrapperScript(version: string): string {
  return `#!/bin/sh
# Written by scripts/lib/chromium-npm.ts: Chromium from npm ${NPM_PACKAGE} ${version},
# with its bundled libraries ahead of the system's and its fontconfig file.
dir="$(dirname -- "$0")"
export LD_LIBRARY_PATH="$dir/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FONTCONFIG_FILE="$dir/fonts.conf"
exec "$dir/${BINARY}" "$@"
`;
}
