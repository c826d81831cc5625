/**
 * `npm run faults [-- --quick] [-- --only <a|b|c|d|e|f|g|h>] [-- --waits <n>]`: the fault suite. Starts its own
 * stack, runs each scenario under load, checks that nothing was lost or doubled, writes the
 * results to docs/RELIABILITY.md (a run of one scenario replaces only its own row) and exits
 * non-zero if any expectation failed.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { stopAllChildren } from '../scripts/lib/children';
import { PROJECT_ROOT } from '../scripts/lib/project';
import { mergeScenarioResults, readSection, renderSection, writeSection } from './report';
import type { Scenario, ScenarioResult } from './scenario';
import { apiSigkill } from './scenarios/api-sigkill';
import { kycResultsUnderFaults } from './scenarios/kyc-results-under-faults';
import { postgresRestart } from './scenarios/postgres-restart';
import { sigterm } from './scenarios/sigterm';
import { temporalOutage } from './scenarios/temporal-outage';
import { waitsUnderFaults } from './scenarios/waits-under-faults';
import { webhookOutage } from './scenarios/webhook-outage';
import { workerSigkill } from './scenarios/worker-sigkill';
import { startFaultStack } from './stack';

/**
 * Run order: d, e and f need the worker to reach their activities promptly, so they go before
 * a–c, whose load leaves the worker a backlog of thousands of workflow tasks (on a busy
 * two-core machine it works through only a few per second). g comes last: it waits for that
 * backlog anyway before its waits open, and its own setup is the largest. h (KYC results under a
 * stopped worker and a paused Temporal) runs after it. The report lists them a–h.
 */
const SCENARIOS: Scenario[] = [
  workerSigkill,
  sigterm,
  webhookOutage,
  apiSigkill,
  temporalOutage,
  postgresRestart,
  waitsUnderFaults,
  kycResultsUnderFaults,
];
/** A hard stop, whatever hangs: the suite is bounded in time. */
const LIMIT_MS = { quick: 9 * 60_000, full: 14 * 60_000 };

const started = Date.now();
const log = (m: string) => console.log(`[faults +${((Date.now() - started) / 1000).toFixed(0)}s] ${m}`);

function parseArgs(argv: string[]): { quick: boolean; only?: string; waits?: number } {
  const quick = argv.includes('--quick');
  const i = argv.indexOf('--only');
  const only = i >= 0 ? argv[i + 1] : undefined;
  if (only !== undefined && !SCENARIOS.some((s) => s.id === only)) {
    throw new Error(`--only takes one of: ${SCENARIOS.map((s) => s.id).join(', ')}`);
  }
  const w = argv.indexOf('--waits');
  const waits = w >= 0 ? Number(argv[w + 1]) : undefined;
  if (waits !== undefined && !(Number.isInteger(waits) && waits > 0)) {
    throw new Error('--waits takes a positive whole number');
  }
  return { quick, only, waits };
}

async function main(): Promise<number> {
  const { quick, only, waits } = parseArgs(process.argv.slice(2));
  const tested = commit(); // before the run: the code the processes were started from
  const mode = quick ? 'quick' : 'full';
  const selected = SCENARIOS.filter((s) => !only || s.id === only);
  const limitMs = LIMIT_MS[mode] + selected.reduce((sum, s) => sum + (s.extraLimitMs?.[mode] ?? 0), 0);
  const timer = setTimeout(() => {
    console.error(`fault suite exceeded ${limitMs / 60_000} min; stopping`);
    void stopAllChildren(2000).finally(() => process.exit(2));
  }, limitMs);
  timer.unref();

  // The KYC sandbox answers `slow…` applicants after 45 s: past the client's 10 s timeout.
  const stack = await startFaultStack({ log, slowMs: 45_000 });
  const results: ScenarioResult[] = [];
  try {
    for (const scenario of selected) {
      log(`${scenario.id}. ${scenario.name}`);
      const result = await scenario.run({ stack, quick, log, waits });
      results.push(result);
      const t = result.tally;
      log(
        `${scenario.id}: acknowledged ${t.acknowledged}, stored ${t.stored}, workflows ${t.workflows}, duplicates ${t.duplicates}, lost ${t.lost}`,
      );
      for (const m of result.measurements) log(`  ${m}`);
      for (const e of result.expectations) log(`  ${e.ok ? 'pass' : 'FAIL'}: ${e.name} (${e.detail})`);
    }
  } finally {
    await stack.close();
  }

  const seconds = (Date.now() - started) / 1000;
  const failed = results.filter((r) => r.expectations.some((e) => !e.ok));
  const file = path.join(PROJECT_ROOT, 'docs', 'RELIABILITY.md');
  const info = { mode, seconds, commit: tested };
  if (!only) {
    results.sort((x, y) => x.id.localeCompare(y.id));
    writeSection(file, renderSection(results, info));
  } else {
    // One scenario's row and details replace its earlier ones; the other rows stay as they were.
    const section = readSection(file);
    writeSection(file, section ? mergeScenarioResults(section, results, info) : renderSection(results, info));
  }
  log(`results written to ${path.relative(PROJECT_ROOT, file)}`);
  log(
    `${results.length - failed.length} scenarios passed, ${failed.length} failed, in ${seconds.toFixed(0)} s`,
  );
  return failed.length === 0 ? 0 : 1;
}

function commit(): string {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  try {
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return git('rev-parse', '--short', 'HEAD') + (dirty ? ' with uncommitted changes' : '');
  } catch {
    return 'unknown';
  }
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    await stopAllChildren(5000);
    process.exit(1);
  },
);
