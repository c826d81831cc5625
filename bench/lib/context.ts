import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../scripts/lib/project';
import type { KycSandbox } from '../../activities/kyc/sandbox-server';
import type { CpuMeter, PeakRss } from './measure';
import type { AppProcess, BenchOperator, Services } from './stack';

export interface ResultRow {
  benchmark: string;
  metric: string;
  measured: string;
  baseline: string;
  ratio: string;
  target: string;
  /** undefined: informational, no target. */
  pass?: boolean;
}

export interface BenchContext {
  s: Services;
  api: AppProcess;
  worker: AppProcess;
  op: BenchOperator;
  /** The sandbox KYC provider, in this process (its webhook deliveries can be held, paced, doubled). */
  kyc: KycSandbox;
  quick: boolean;
  rows: ResultRow[];
  rss: PeakRss;
  cpu: CpuMeter;
  /** Figures one benchmark measures and a later one builds on. */
  known: { ingestMaxRps?: number; fanoutMaxRate?: number };
  log: (m: string) => void;
}

/** Runs one of bench/baselines/*.ts as its own process and parses the JSON line it prints. */
export function runBaseline<T>(script: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'bench', 'baselines', script), ...args],
      {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : 'n/a';
export const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
