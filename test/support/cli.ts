import { execFile } from 'node:child_process';
import path from 'node:path';

export const PROJECT_ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The admin CLI exactly as a newcomer runs it (`npm run cli -- …` is `tsx cli/main.ts …`), as a
 * separate process, so argument parsing, exit codes and output are what is tested. `env` goes on
 * top of this process's (DATABASE_URL, TEMPORAL_*, LOCAL_DIR, …).
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      ['cli/main.ts', ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
