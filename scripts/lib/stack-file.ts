import { readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT } from './project';

/** What a running `npm start` publishes, so the admin CLI and tests can find its services. */
export interface StackInfo {
  /** pid of the dev-stack process itself; the file is stale if it is not alive. */
  pid: number;
  startedAt: string;
  apiUrl: string;
  docsUrl: string;
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  temporalTaskQueue: string;
  temporalUiUrl?: string;
  kycProviderUrl: string;
  /**
   * WEBHOOK_ALLOW_PRIVATE_NETWORKS as the stack's API and worker have it: the admin CLI checks
   * webhook URLs as they would (cli/local-stack.ts).
   */
  webhookAllowPrivateNetworks?: boolean;
  /** Processes this stack started (postgres, temporal, api, worker, kyc-sandbox). */
  pids: Record<string, number>;
}

/** `LOCAL_DIR` moves all dev-stack state (tests point it at a temp dir). */
export function localDir(): string {
  return path.resolve(process.env.LOCAL_DIR || path.join(PROJECT_ROOT, '.local'));
}

export function stackFilePath(dir = localDir()): string {
  return path.join(dir, 'stack.json');
}

export async function writeStackFile(info: StackInfo, dir = localDir()): Promise<void> {
  const file = stackFilePath(dir);
  // The file holds credentials for the local database only, but keep it private anyway.
  await fs.writeFile(`${file}.tmp`, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(`${file}.tmp`, file);
}

/** Synchronous so it can run in a process 'exit' handler. */
export function removeStackFile(dir = localDir()): void {
  rmSync(stackFilePath(dir), { force: true });
}

/** The running stack's details, or undefined if none is running (missing or stale file). */
export function readStackFile(dir = localDir()): StackInfo | undefined {
  let info: StackInfo;
  try {
    info = JSON.parse(readFileSync(stackFilePath(dir), 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
  return isAlive(info.pid) ? info : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
