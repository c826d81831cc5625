import { randomBytes } from 'node:crypto';
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Command } from 'commander';
import { countRedrive, triggersOnRecordedEvents } from '../activities/redrive';
import { getOperator } from '../core/db/operators';
import { newestArchivedInRange } from '../core/db/redrive-events';
import { runningOverlap, startRedriveAlone, type GuardedStart } from '../core/fanout/redrive-guard';
import { operatorPriority } from '../workflows/fairness';
import type { Db } from '../core/db/pool';
import { definitions } from '../workflows/definitions';
import {
  REDRIVE_PROGRESS_QUERY,
  REDRIVE_WORKFLOW,
  redriveWorkflowId,
  type RedriveCriteria,
  type RedriveInput,
  type RedriveMode,
  type RedriveProgress,
} from '../workflows/redrive-types';

/** Where the CLI finds Temporal: the environment, else the running local stack, else its defaults. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
}

export interface FanoutCliDeps {
  withDb(fn: (db: Db) => Promise<void>): () => Promise<void>;
  temporalTarget(): TemporalTarget;
  fail(message: string): never;
}

interface RunOptions {
  definition: string;
  operator?: string;
  since: string;
  until?: string;
  failedOnly?: boolean;
  dryRun?: boolean;
  id?: string;
  resume?: string;
  detach?: boolean;
  pageSize: string;
  rate: string;
  pagesPerRun: string;
  pollMs: string;
}

const DURATION = /^(\d+)([smhd])$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** An ISO time, or a duration before `now` (`90m`, `24h`, `7d`); null if neither. */
export function parseTime(value: string, now: Date): Date | null {
  const d = DURATION.exec(value);
  if (d) return new Date(now.getTime() - Number(d[1]) * UNIT_MS[d[2] as keyof typeof UNIT_MS]);
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

/** A rate may be below one per second (0.2: one run every five seconds). */
function positiveNumber(name: string, value: string, fail: (m: string) => never): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number, got "${value}"`);
  return n;
}

function positiveInt(name: string, value: string, fail: (m: string) => never): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) fail(`${name} must be a positive integer, got "${value}"`);
  return n;
}

/** The input problems that stop a re-drive before anything is counted or started. */
function criteriaFrom(mode: RedriveMode, o: RunOptions, fail: (m: string) => never): RedriveCriteria {
  const def = definitions.find((d) => d.name === o.definition);
  if (!def) fail(`Unknown definition "${o.definition}"; known: ${definitions.map((d) => d.name).join(', ')}`);
  if (!triggersOnRecordedEvents(def))
    fail(`Definition "${def.name}" triggers on no recorded events (entity_event.*): nothing to ${mode}`);
  if (mode === 'backfill' && def.requiresSubscription)
    fail(`Definition "${def.name}" depends on each operator's webhook subscription; it cannot be backfilled`);
  // A re-run would send the message again under a new webhook-id, beside `recover`, which
  // re-delivers the same message (same id, so the receiver can tell): two copies at least.
  if (def.requiresSubscription)
    fail(
      `Definition "${def.name}" only delivers webhooks: bring failed messages back with ` +
        '`POST /webhooks/endpoints/:id/recover` (or resend one), which keeps their webhook-id',
    );
  const now = new Date();
  const since = parseTime(o.since, now);
  if (!since) fail(`--since "${o.since}" is neither an ISO time nor a duration like 24h`);
  // A fixed end, so a long run does not chase events recorded while it runs.
  const until = o.until === undefined ? now : parseTime(o.until, now);
  if (!until) fail(`--until "${o.until}" is neither an ISO time nor a duration like 1h`);
  if (since.getTime() >= until.getTime())
    fail(`--since (${since.toISOString()}) must be before --until (${until.toISOString()})`);
  return {
    mode,
    definition: def.name,
    ...(o.operator ? { operatorId: o.operator } : {}),
    since: since.toISOString(),
    until: until.toISOString(),
  };
}

async function connect(target: TemporalTarget, fail: (m: string) => never): Promise<Client> {
  try {
    const connection = await Connection.connect({ address: target.address, connectTimeout: '5s' });
    return new Client({ connection, namespace: target.namespace });
  } catch (err) {
    fail(`Temporal is unreachable at ${target.address}: ${(err as Error).message}. Nothing was started.`);
  }
}

const refusal = (mode: RedriveMode, c: RedriveCriteria, running: string) =>
  `A ${mode} of ${c.definition} over this range is already running: ${running}`;

export function progressLine(p: RedriveProgress): string {
  const total = p.total ?? '?';
  const pct = p.total ? ` ${Math.floor((100 * p.selected) / p.total)}%` : '';
  const waiting = p.waiting ? `, ${p.waiting} started and waiting` : '';
  return `${p.selected}/${total}${pct}: ${p.completed} completed, ${p.failed} failed${waiting} (${p.scanned} events read)${p.done ? ', done' : ''}`;
}

/** An error and its causes, outermost first: "Workflow execution failed" alone says nothing. */
export function causes(err: unknown): string {
  const parts: string[] = [];
  for (let e = err; e instanceof Error && parts.length < 5; e = e.cause) parts.push(e.message);
  return parts.join(': ') || String(err);
}

/** Polls the workflow's progress query until it finishes; prints a line whenever it changes. */
async function follow(handle: WorkflowHandle, pollMs: number): Promise<RedriveProgress> {
  let finished: RedriveProgress | undefined;
  let failure: unknown;
  const result = handle.result().then(
    (r: RedriveProgress) => (finished = r),
    (err: unknown) => (failure = err ?? new Error('re-drive failed')),
  );
  let last = '';
  const show = (line: string) => {
    if (line === last) return;
    last = line;
    if (process.stdout.isTTY) process.stdout.write(`\r\x1b[K${line}`);
    else console.log(line);
  };
  while (!finished && !failure) {
    try {
      show(progressLine(await handle.query<RedriveProgress>(REDRIVE_PROGRESS_QUERY)));
    } catch {
      // Between runs (continue-as-new) or before the first task, a query may fail: poll again.
    }
    await Promise.race([result, new Promise((r) => setTimeout(r, pollMs))]);
  }
  if (failure) throw new Error(`${handle.workflowId} failed: ${causes(failure)}`);
  show(progressLine(finished!));
  if (process.stdout.isTTY) process.stdout.write('\n');
  return finished!;
}

async function runOrResume(mode: RedriveMode, o: RunOptions, deps: FanoutCliDeps, db: Db) {
  const { fail } = deps;
  const pollMs = positiveInt('--poll-ms', o.pollMs, fail);
  const target = deps.temporalTarget();
  if (o.resume) {
    const client = await connect(target, fail);
    const handle = client.workflow.getHandle(redriveWorkflowId(o.resume));
    try {
      await handle.describe();
    } catch {
      fail(`No re-drive ${o.resume} (workflow ${redriveWorkflowId(o.resume)})`);
    }
    console.log(`Attached to ${redriveWorkflowId(o.resume)}`);
    await follow(handle, pollMs);
    return;
  }
  const c = criteriaFrom(mode, o, fail);
  const pageSize = positiveInt('--page-size', o.pageSize, fail);
  const rate = positiveNumber('--rate', o.rate, fail);
  const pagesPerRun = positiveInt('--pages-per-run', o.pagesPerRun, fail);
  if (c.operatorId && !(await getOperator(db, c.operatorId))) fail(`No operator ${c.operatorId}`);
  const archived = await newestArchivedInRange(db, c);
  if (archived)
    fail(
      `Events in this range up to ${archived.toISOString()} were moved to the archive by retention, ` +
        `and a ${mode} covers recorded events still in the hot table: start --since after that time`,
    );
  const client = await connect(target, fail);
  // Early, so a dry run or a long count is refused at once; the start below checks again, atomically.
  const other = await runningOverlap(db, client, c);
  // The same --id again is not refused by itself: it attaches (below).
  if (other && other.id !== o.id) fail(refusal(mode, c, other.workflowId));

  const total = await countRedrive(db, client, c, pageSize);
  const scope = `${c.operatorId ?? 'all operators'}, ${c.since} to ${c.until}`;
  console.log(`${mode} of ${c.definition} will run ${total} events (${scope})`);
  if (o.dryRun) return;
  if (total === 0) return console.log('Nothing to do.');

  const redriveId = o.id ?? `rd_${randomBytes(6).toString('hex')}`;
  const workflowId = redriveWorkflowId(redriveId);
  const input: RedriveInput = { ...c, redriveId, pageSize, ratePerSecond: rate, pagesPerRun, total };
  const start = () =>
    client.workflow.start(REDRIVE_WORKFLOW, {
      taskQueue: target.taskQueue,
      workflowId,
      args: [input],
      // A re-drive id runs once: the same id again attaches to it instead (below).
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      memo: { ...c },
      staticSummary: `${mode} of ${c.definition}: ${total} events (${scope})`,
      // One operator's re-drive shares that operator's fairness key; one over all operators
      // has none of its own, and each re-run carries its event's operator (workflows/redrive.ts).
      ...(c.operatorId ? { priority: operatorPriority(c.operatorId) } : {}),
    });
  let outcome: GuardedStart;
  try {
    outcome = await startRedriveAlone(db, client, { criteria: c, redriveId, workflowId, start });
  } catch (err) {
    // Started by hand or by a CLI from before re-drives were registered: attach, as to our own.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    outcome = { kind: 'exists' };
  }
  if (outcome.kind === 'refused') fail(refusal(mode, c, outcome.running.workflowId));
  if (outcome.kind === 'started') console.log(`Started ${workflowId} (resume with --resume ${redriveId})`);
  else console.log(`${workflowId} already exists; attached to it`);
  const handle = client.workflow.getHandle(workflowId);
  if (o.detach) return;
  await follow(handle, pollMs);
}

function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--definition <name>', 'the definition to run (workflows/definitions)')
    .option('--operator <id>', 'only this operator’s events')
    .option('--since <time>', 'ISO time, or a duration before now (24h, 7d)')
    .option('--until <time>', 'ISO time or duration before now (default: now, fixed at the start)')
    .option('--dry-run', 'print how many events it would run, then exit')
    .option('--id <id>', 'the re-drive id (default: a new one); an existing id is attached to')
    .option('--resume <id>', 'attach to a re-drive already started, and follow it')
    .option('--detach', 'start it and exit without following it')
    .option('--page-size <n>', 'events read per page', '50')
    .option('--rate <perSecond>', 'at most this many runs per second (may be below 1)', '20')
    .option('--pages-per-run <n>', 'pages per workflow run before continue-as-new', '20')
    .option('--poll-ms <ms>', 'progress polling interval', '1000');
}

export function registerFanoutCommands(program: Command, deps: FanoutCliDeps): void {
  const fanout = program
    .command('fanout')
    .description('Re-drive or backfill a definition over past events (a Temporal workflow)');
  const action = (mode: (o: RunOptions) => RedriveMode) => (o: RunOptions) =>
    deps.withDb(async (db) => {
      if (!o.resume && (!o.definition || !o.since)) deps.fail('--definition and --since are required');
      await runOrResume(mode(o), o, deps, db);
      // The gRPC channel would keep the process alive after the work is done.
      process.exit(0);
    })();
  addRunOptions(fanout.command('redrive'))
    .description('Run a definition again for the events that planned it (or only those where it failed)')
    .option('--failed-only', 'only events whose workflow names the definition in FailedDefinitions')
    .action(action((o) => (o.failedOnly ? 'redrive-failed' : 'redrive')));
  addRunOptions(fanout.command('backfill'))
    .description('Run a definition over past events it matches but did not run for')
    .action(action(() => 'backfill'));
}
