import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { ResultRow } from './context';

const BEGIN = '<!-- bench:results:begin (written by npm run bench) -->';
const END = '<!-- bench:results:end -->';

const verdict = (r: ResultRow) => (r.pass === undefined ? '' : r.pass ? 'PASS' : '**MISS**');

export function table(rows: ResultRow[]): string {
  const head =
    '| Benchmark | Metric | Measured | Baseline (same run) | Ratio | Target | Result |\n|---|---|---|---|---|---|---|';
  const body = rows.map(
    (r) =>
      `| ${r.benchmark} | ${r.metric} | ${r.measured} | ${r.baseline} | ${r.ratio} | ${r.target} | ${verdict(r)} |`,
  );
  return [head, ...body].join('\n');
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** The generated block: what ran, where, and the table. */
export function resultsBlock(
  rows: ResultRow[],
  o: { command: string; startedAt: Date; durationS: number; stack: string },
): string {
  return [
    BEGIN,
    `- Command: \`${o.command}\``,
    `- Date: ${o.startedAt.toISOString()} (took ${Math.round(o.durationS)} s)`,
    `- Machine: ${machine()}; load average at start ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' / ')}`,
    `- Stack: ${o.stack}`,
    '',
    table(rows),
    END,
  ].join('\n');
}

/**
 * Replaces the generated block of `file`, keeping the hand-written analysis around it; a new
 * file gets a title and the block.
 */
export function writeReport(file: string, block: string): void {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + block + current.slice(end + END.length)
      : `${current || '# Benchmarks\n\n'}${block}\n`;
  writeFileSync(file, next);
}
