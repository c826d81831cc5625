/**
 * `npm run bench [-- --quick] [-- --only <name>]`: starts its own Postgres and Temporal
 * (unless DATABASE_URL / TEMPORAL_ADDRESS are set), the API and a worker as separate
 * processes (compiled JS), creates an operator, runs each benchmark against a baseline
 * measured in the same run, prints a table and writes it to docs/BENCHMARKS.md.
 */
import path from 'node:path';
import { stopAllChildren } from '../scripts/lib/children';
import { PROJECT_ROOT } from '../scripts/lib/project';
import type { BenchContext } from './lib/context';
import { CpuMeter, PeakRss } from './lib/measure';
import { resultsBlock, table, writeReport } from './lib/report';
import { compileProduct, newOperator, say, startApi, startServices, startWorker } from './lib/stack';
import { startKycSandbox } from '../activities/kyc/sandbox-server';
import { actionsPerEvent } from './scenarios/actions';
import { backfill } from './scenarios/backfill';
import { batch } from './scenarios/batch';
import { fanoutEndToEnd } from './scenarios/e2e';
import { fairness } from './scenarios/fairness';
import { kycFairness } from './scenarios/kyc-fairness';
import { kycResults } from './scenarios/kyc-results';
import { fanoutStart } from './scenarios/fanout';
import { memory, ingest } from './scenarios/ingest';
import { fanoutLag } from './scenarios/lag';
import { listing } from './scenarios/listing';
import { scale } from './scenarios/scale';
import { scaleStore } from './scenarios/scale-store';
import { waits } from './scenarios/waits';

/** In this order: later ones reuse figures (max ingest rate, max fan-out rate) of earlier ones. */
const BENCHMARKS: Record<string, (ctx: BenchContext) => Promise<void>> = {
  ingest,
  memory,
  actions: actionsPerEvent,
  fanout: fanoutStart,
  e2e: fanoutEndToEnd,
  lag: fanoutLag,
  fairness,
  waits,
  'kyc-fairness': kycFairness,
  'kyc-results': kycResults,
  // Paced, not load-bound: 10,000 re-runs at the CLI's 20/s take over 8 minutes on any machine.
  backfill,
  listing,
  // Late: its fan-out (5,000 workflows per batch) keeps Temporal and the worker busy for minutes.
  batch,
  scale,
  // The events store loaded to 20M rows against itself nearly empty (issue 23); last: it fills the disk.
  'scale-store': scaleStore,
};

function parseArgs(argv: string[]): { quick: boolean; only: string[]; out?: string } {
  const only: string[] = [];
  let quick = false;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only') only.push(...(argv[++i] ?? '').split(','));
    else if (a === '--out') out = argv[++i];
    else
      throw new Error(
        `Unknown option ${a}. Options: --quick, --only <${Object.keys(BENCHMARKS).join('|')}>, --out <file>`,
      );
  }
  for (const name of only) {
    if (!BENCHMARKS[name])
      throw new Error(`Unknown benchmark "${name}"; one of: ${Object.keys(BENCHMARKS).join(', ')}`);
  }
  return { quick, only, out };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const names =
    args.only.length > 0
      ? Object.keys(BENCHMARKS).filter((n) => args.only.includes(n))
      : Object.keys(BENCHMARKS);
  await compileProduct();
  const s = await startServices();
  // The sandbox KYC provider (a real HTTP server on loopback): first deposits call it.
  const kyc = await startKycSandbox({ log: () => undefined });
  try {
    // The API first: the worker gives providers its address for their webhooks (PUBLIC_API_URL).
    const api = await startApi(s);
    const worker = await startWorker(s, 'worker', { KYC_PROVIDER_URL: kyc.url, PUBLIC_API_URL: api.url! });
    say(`API ${api.url} (pid ${api.pid}), worker pid ${worker.pid}, task queue ${s.taskQueue}`);
    const op = await newOperator(s, 'bench');
    const ctx: BenchContext = {
      s,
      api,
      worker,
      op,
      kyc,
      quick: args.quick,
      rows: [],
      rss: new PeakRss({ api: api.pid, worker: worker.pid }).start(),
      cpu: new CpuMeter({
        api: { pid: api.pid },
        worker: { pid: worker.pid },
        ...(s.pids.temporal ? { temporal: { pid: s.pids.temporal } } : {}),
        ...(s.pids.postgres ? { postgres: { pid: s.pids.postgres, children: true } } : {}),
      }),
      known: {},
      log: say,
    };
    for (const name of names) {
      say(`--- ${name}${args.quick ? ' (quick)' : ''}`);
      const t = Date.now();
      await BENCHMARKS[name]!(ctx);
      say(`--- ${name} done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    ctx.rss.stop();
    await Promise.all([api.child.stop(20_000), worker.child.stop(40_000)]);

    const durationS = (Date.now() - startedAt.getTime()) / 1000;
    console.log(`\n${table(ctx.rows)}\n`);
    const full = !args.quick && args.only.length === 0;
    // Only a full run replaces the committed figures; quick and partial runs go aside.
    const out = path.resolve(
      PROJECT_ROOT,
      args.out ?? (full ? 'docs/BENCHMARKS.md' : '.local/bench/last-run.md'),
    );
    const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    const stack = `${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded Postgres (throw-away cluster, fsync off)'}, ${
      process.env.TEMPORAL_ADDRESS
        ? 'TEMPORAL_ADDRESS'
        : `Temporal CLI dev server (${process.env.BENCH_TEMPORAL_STORE ?? 'memory'})`
    }; API and worker as compiled JS (node .local/bench/dist/…), one process each; autocannon and the baselines as their own processes`;
    writeReport(out, resultsBlock(ctx.rows, { command, startedAt, durationS, stack }));
    say(`wrote ${path.relative(PROJECT_ROOT, out)} (${Math.round(durationS)} s in all)`);
  } finally {
    await kyc.close();
    await s.stop().catch((err: unknown) => say(`stopping services: ${String(err)}`));
  }
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    await stopAllChildren();
    process.exit(1);
  },
);
