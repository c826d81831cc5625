import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The first executable `name` in a PATH directory, as an absolute path. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.resolve(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Whether `bin --version` runs and prints what the real tool prints: a file of the right name
 * that is broken, or some other program, does not count as found.
 */
export async function answersVersion(bin: string, expected: RegExp): Promise<boolean> {
  try {
    const { stdout } = await run(bin, ['--version'], { timeout: 30_000 });
    return expected.test(stdout);
  } catch {
    return false;
  }
}

/**
 * Runs a (possibly installing) search once per process, with the first caller's arguments;
 * a failed search is forgotten, so a later caller tries again rather than getting a stale error.
 */
export function memoiseSearch<A extends unknown[]>(
  search: (...args: A) => Promise<string>,
): (...args: A) => Promise<string> {
  let found: Promise<string> | undefined;
  return (...args) => {
    found ??= search(...args).catch((err: unknown) => {
      found = undefined;
      throw err;
    });
    return found;
  };
}
