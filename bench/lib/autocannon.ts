import { execFile } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../scripts/lib/project';

const AUTOCANNON = path.join(PROJECT_ROOT, 'node_modules', 'autocannon', 'autocannon.js');

export interface LoadOptions {
  url: string;
  connections: number;
  durationS?: number;
  /** A fixed number of requests instead of a duration. */
  amount?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** A file holding the body (large batch bodies do not fit on a command line). */
  bodyFile?: string;
  /** Requests per second over all connections (latency is corrected for coordinated omission). */
  overallRate?: number;
  timeoutS?: number;
}

export interface LoadResult {
  /** 2xx answers per second of the run. */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  durationS: number;
  startedAt: number;
  finishedAt: number;
}

interface AutocannonJson {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  latency: { p50: number; p99: number };
}

/**
 * Runs autocannon as its own process (its CLI with --json), so the load generator never
 * shares an event loop with the code that measures or with the server under test.
 */
export function autocannon(o: LoadOptions): Promise<LoadResult> {
  const args = [AUTOCANNON, '--json', '-n', '-c', String(o.connections), '-t', String(o.timeoutS ?? 30)];
  if (o.amount !== undefined) args.push('-a', String(o.amount));
  else args.push('-d', String(o.durationS ?? 10));
  if (o.method) args.push('-m', o.method);
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}=${v}`);
  if (o.body !== undefined) args.push('-b', o.body);
  if (o.bodyFile) args.push('-i', o.bodyFile);
  if (o.overallRate) args.push('-R', String(Math.max(1, Math.round(o.overallRate))));
  args.push(o.url);
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`autocannon failed: ${err.message}\n${stderr}`));
      const r = JSON.parse(stdout) as AutocannonJson;
      const durationS = r.duration;
      resolve({
        rps: r['2xx'] / durationS,
        ok: r['2xx'],
        non2xx: r.non2xx,
        errors: r.errors + r.timeouts,
        p50: r.latency.p50,
        p99: r.latency.p99,
        durationS,
        startedAt,
        finishedAt: Date.now(),
      });
    });
  });
}

/** One request with fetch first, so a broken set-up fails loudly instead of as N non-2xx. */
export async function probe(o: LoadOptions): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const body = o.bodyFile ? await readFile(o.bodyFile, 'utf8') : o.body;
  const res = await fetch(o.url, { method: o.method ?? 'GET', headers: o.headers, body });
  const text = await res.text();
  if (res.status >= 300 || (text.includes('"failed":') && !text.includes('"failed":0')))
    throw new Error(`${o.method ?? 'GET'} ${o.url}: HTTP ${res.status} ${text.slice(0, 300)}`);
}

export const authHeaders = (apiKey: string): Record<string, string> => ({
  authorization: `Bearer ${apiKey}`,
  'content-type': 'application/json',
});
