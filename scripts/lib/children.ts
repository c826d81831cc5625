import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from './project';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedChild {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  /** Sends the child's stop signal, then SIGKILL if it is still alive after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
  /** The last lines the child printed, for error messages when it dies early. */
  recentOutput(): string[];
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** What asks this program for a graceful stop (postgres: SIGINT = fast shutdown). */
  stopSignal?: NodeJS.Signals;
  onLine?: (line: string) => void;
  /** Share our terminal (colours, progress bars) instead of capturing output line by line. */
  inheritStdio?: boolean;
  /**
   * Keep a terminal's Ctrl-C from reaching this child, so that we can stop it in order
   * (Postgres and Temporal after the API and worker have drained). Honoured only where
   * the death signal is available: without it, the terminal's signal is the only thing that
   * would stop the child if we died, so the child stays in our process group.
   */
  isolateFromTerminal?: boolean;
}

/**
 * Runs one of the project's TypeScript entry points (`api/main.ts`, `worker/main.ts`,
 * `scripts/kyc-sandbox.ts`) as a managed child, stopped by SIGTERM unless told otherwise.
 * `node --import tsx` rather than the tsx CLI: the CLI relays a stop signal and SIGKILLs its
 * child if that child does not acknowledge within 30 ms, which would cut short the graceful
 * drain of a busy API or worker.
 */
export function spawnProjectScript(
  script: string,
  opts: Omit<SpawnOptions, 'command' | 'args' | 'cwd'>,
): ManagedChild {
  return spawnManaged({
    stopSignal: 'SIGTERM',
    ...opts,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(PROJECT_ROOT, script)],
    cwd: PROJECT_ROOT,
  });
}

const KEEP_LINES = 40;
const SETPRIV = '/usr/bin/setpriv';
const running = new Set<ManagedChild & { stopSignal: NodeJS.Signals }>();

/**
 * Spawns a long-running service that must not outlive this process.
 *
 * Being in our process group (detached: false) is not enough for that: a crash or SIGKILL of
 * this process re-parents the children to init. So on Linux they start through
 * `setpriv --pdeathsig`, and the kernel sends each its stop signal when we die, however we
 * die. An 'exit' hook and default signal handlers cover systems without setpriv.
 */
export function spawnManaged(opts: SpawnOptions): ManagedChild {
  installHandlersOnce();
  const stopSignal = opts.stopSignal ?? 'SIGTERM';
  const deathSignal = existsSync(SETPRIV);
  const [command, args] = deathSignal
    ? [SETPRIV, ['--pdeathsig', stopSignal.replace(/^SIG/, ''), '--', opts.command, ...opts.args]]
    : [opts.command, opts.args];
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    uid: opts.uid,
    gid: opts.gid,
    // detached = a new session: the terminal's Ctrl-C no longer reaches the child.
    detached: Boolean(opts.isolateFromTerminal && deathSignal),
    stdio: opts.inheritStdio ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });

  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.shift();
      opts.onLine?.(line);
    });
  }

  const exited = waitForExit(child);
  const managed = {
    name: opts.name,
    pid: child.pid ?? -1,
    exited,
    stopSignal,
    isRunning: () => child.exitCode === null && child.signalCode === null,
    stop: (timeoutMs = 15_000) => stopChild(child, stopSignal, exited, timeoutMs),
    recentOutput: () => [...lines],
  };
  running.add(managed);
  void exited.then(() => running.delete(managed));
  return managed;
}

function waitForExit(child: ChildProcess): Promise<ExitStatus> {
  return new Promise((resolve) => {
    // 'close' rather than 'exit': it waits for stdio to drain, so recentOutput() is complete.
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', (err) => {
      // spawn failures (ENOENT…) never emit 'close'
      if (child.pid === undefined) resolve({ code: 127, signal: null });
      else process.emitWarning(err);
    });
  });
}

async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  exited: Promise<ExitStatus>,
  timeoutMs: number,
): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return first;
  child.kill('SIGKILL');
  return exited;
}

/** Stops every managed child still running, e.g. one whose start-up was interrupted. */
export async function stopAllChildren(timeoutMs = 15_000): Promise<void> {
  await Promise.all([...running].map((child) => child.stop(timeoutMs)));
}

/** Last resort after a second Ctrl-C: nothing waits for a graceful stop any more. */
export function killAllChildren(): void {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Best effort without setpriv, and a faster stop with it: signal every child still running. */
function signalAll(): void {
  for (const child of running) {
    try {
      process.kill(child.pid, child.stopSignal);
    } catch {
      // already gone
    }
  }
}

let installed = false;

/**
 * 'exit' covers process.exit() and normal ends. For signals we act only when nobody else
 * listens: an entry point with its own handler (dev-stack's ordered shutdown) stays in
 * charge, while a plain script still cleans up instead of dying with its children running.
 */
function installHandlersOnce(): void {
  if (installed) return;
  installed = true;
  process.on('exit', signalAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      if (process.listenerCount(sig) > 1) return;
      signalAll();
      process.exit(128 + constants.signals[sig]);
    };
    process.on(sig, handler);
  }
}
