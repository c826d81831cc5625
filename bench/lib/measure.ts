import { readdirSync, readFileSync } from 'node:fs';

/** Resident set size of a process in MB, from /proc/<pid>/status (VmRSS). */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the peak RSS of some processes every 100 ms until stopped. */
export class PeakRss {
  readonly peak = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pids: Record<string, number>) {}

  start(): this {
    this.timer = setInterval(() => this.sample(), 100);
    return this;
  }

  sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      const mb = rssMb(pid);
      if (mb !== undefined && mb > (this.peak.get(name) ?? 0)) this.peak.set(name, mb);
    }
  }

  stop(): Map<string, number> {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns true; returns the time it took, or throws after `timeoutMs`. */
export async function waitUntil(
  fn: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await fn()) return Date.now() - started;
    await sleep(everyMs);
  }
  throw new Error(`${what}: not done within ${timeoutMs / 1000} s`);
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function statFields(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  return cpuOf(pid);
}

function cpuOf(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND : 0;
}

/**
 * CPU seconds of a process and its children (Postgres: the postmaster and its backends): the
 * live ones from their own counters, the ones that have exited from the parent's cutime/cstime.
 */
function cpuWithChildren(pid: number): number {
  const own = statFields(pid);
  let total = own
    ? (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) / TICKS_PER_SECOND
    : 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[1]) === pid) total += cpuOf(Number(entry));
  }
  return total;
}

/**
 * CPU time used by each process of the stack over an interval. Unlike throughput on a shared
 * machine, CPU per request does not depend on what else the machine is doing.
 */
export class CpuMeter {
  constructor(private readonly pids: Record<string, { pid: number; children?: boolean }>) {}

  snapshot(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, p] of Object.entries(this.pids))
      out.set(name, p.children ? cpuWithChildren(p.pid) : cpuOf(p.pid));
    return out;
  }

  /** CPU milliseconds per unit of work since `before`, per process. */
  perUnit(before: Map<string, number>, units: number): Record<string, number> {
    const now = this.snapshot();
    const out: Record<string, number> = {};
    for (const [name, t] of now) out[name] = ((t - (before.get(name) ?? 0)) * 1000) / Math.max(1, units);
    return out;
  }
}

export const describeCpu = (perUnit: Record<string, number>) =>
  Object.entries(perUnit)
    .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
    .join(', ');
