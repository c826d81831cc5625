import path from 'node:path';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { spawnManaged, type ManagedChild } from '../../scripts/lib/children';
import { PROJECT_ROOT } from '../../scripts/lib/project';
import { redriveChildId, redriveWorkflowId, type RedriveInput } from '../../workflows/redrive-types';
import { DIST, type Services } from './stack';

export interface BackfillCli {
  child: ManagedChild;
  /** Everything the CLI printed, in order. */
  lines: string[];
}

/**
 * `fanout backfill` as an operator runs it (`npm run cli -- fanout backfill …`), from the
 * compiled product as the production image would (`node dist/cli/main.js`), pointed at this
 * run's servers and task queue. It counts, starts the workflow and follows it to the end.
 */
export function startBackfillCli(s: Services, args: string[]): BackfillCli {
  const lines: string[] = [];
  const child = spawnManaged({
    name: 'cli',
    command: process.execPath,
    args: [path.join(DIST, 'cli', 'main.js'), 'fanout', 'backfill', ...args],
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      DATABASE_URL: s.databaseUrl,
      TEMPORAL_ADDRESS: s.temporalAddress,
      TEMPORAL_NAMESPACE: s.namespace,
      TEMPORAL_TASK_QUEUE: s.taskQueue,
    },
    onLine: (line) => lines.push(line),
  });
  return { child, lines };
}

/** The count the CLI printed before starting ("backfill of X will run N events (…)"). */
export function announcedCount(lines: string[]): number | undefined {
  for (const line of lines) {
    const m = /will run (\d+) events/.exec(line);
    if (m) return Number(m[1]);
  }
  return undefined;
}

export interface RerunCheck {
  /** Re-run executions found (every run of every re-run workflow ID). */
  executions: number;
  /** Selected events without a re-run. */
  missing: number;
  /** Events re-run more than once (two executions of one ID). */
  duplicated: number;
  /** Re-runs of events that were not selected. */
  extra: number;
  /** Re-runs that did not complete. */
  notCompleted: number;
}

/** Compares the re-run workflows of one backfill with the events it was meant to run. */
export function checkReruns(
  redriveId: string,
  eventIds: string[],
  executions: Array<Pick<RerunExecution, 'workflowId' | 'status'>>,
): RerunCheck {
  const expected = new Set(eventIds.map((id) => redriveChildId(redriveId, id)));
  const seen = new Map<string, number>();
  for (const e of executions) seen.set(e.workflowId, (seen.get(e.workflowId) ?? 0) + 1);
  return {
    executions: executions.length,
    missing: [...expected].filter((id) => !seen.has(id)).length,
    duplicated: [...seen.values()].filter((n) => n > 1).length,
    extra: [...seen.keys()].filter((id) => !expected.has(id)).length,
    notCompleted: executions.filter((e) => e.status !== 'COMPLETED').length,
  };
}

export interface RerunExecution {
  workflowId: string;
  status: string;
  startMs: number;
  closeMs?: number;
}

/** Every execution of the backfill's re-run workflows (`redrive:<id>:<eventId>`). */
export async function rerunExecutions(client: Client, redriveId: string): Promise<RerunExecution[]> {
  const out: RerunExecution[] = [];
  const query = `WorkflowId STARTS_WITH '${redriveWorkflowId(redriveId)}:'`;
  for await (const wf of client.workflow.list({ query, pageSize: 1000 }))
    out.push({
      workflowId: wf.workflowId,
      status: wf.status.name,
      startMs: wf.startTime.getTime(),
      closeMs: wf.closeTime?.getTime(),
    });
  return out;
}

/**
 * Where a page's time goes, from its re-runs' start and close times (a page's children all
 * start before the next page is read): the mean time from a page's first start to its last
 * close, and from that close to the next page's first start (reading and selecting the next
 * page, plus the pacing timer). Means, not medians: their sum times the pages is the
 * backfill's duration, so they say where the achieved rate went, slow pages included.
 */
export function pagePhases(executions: RerunExecution[], pageSize: number): { runMs: number; gapMs: number } {
  const sorted = [...executions].sort((a, b) => a.startMs - b.startMs);
  const pages: Array<{ first: number; last: number }> = [];
  for (let i = 0; i < sorted.length; i += pageSize) {
    const page = sorted.slice(i, i + pageSize);
    pages.push({
      first: page[0]!.startMs,
      last: Math.max(...page.map((e) => e.closeMs ?? e.startMs)),
    });
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    runMs: mean(pages.map((p) => p.last - p.first)),
    gapMs: mean(pages.slice(1).map((p, i) => p.first - pages[i]!.last)),
  };
}

/**
 * The backfill workflow's span over all its runs (continue-as-new keeps the ID): the first
 * run's start to the last run's close, or undefined while it is still running.
 */
export async function backfillSpan(
  client: Client,
  redriveId: string,
): Promise<{ startMs: number; closeMs: number; runs: number } | undefined> {
  let startMs = Infinity;
  let closeMs = 0;
  let runs = 0;
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${redriveWorkflowId(redriveId)}'` })) {
    runs++;
    startMs = Math.min(startMs, wf.startTime.getTime());
    if (wf.status.name === 'RUNNING' || !wf.closeTime) return undefined;
    closeMs = Math.max(closeMs, wf.closeTime.getTime());
  }
  return runs > 0 ? { startMs, closeMs, runs } : undefined;
}

/**
 * The `--rate` and `--page-size` the workflow runs with, read from its current run's input
 * (continue-as-new carries them) rather than assumed, so the figures follow the CLI's defaults.
 */
export async function configured(
  client: Client,
  redriveId: string,
): Promise<{ rate: number; pageSize: number }> {
  const history = await client.workflow.getHandle(redriveWorkflowId(redriveId)).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`no input in the history of ${redriveWorkflowId(redriveId)}`);
  const input = defaultPayloadConverter.fromPayload<RedriveInput>(payload);
  return { rate: input.ratePerSecond, pageSize: input.pageSize };
}

/** Why the backfill workflow failed, as far as its failure chain says (the CLI prints only "failed"). */
export async function failureOf(client: Client, redriveId: string): Promise<string> {
  try {
    await client.workflow.getHandle(redriveWorkflowId(redriveId)).result();
    return 'completed';
  } catch (err) {
    const chain: string[] = [];
    for (let e: unknown = err; e instanceof Error && chain.length < 5; e = e.cause)
      chain.push(`${e.name}: ${e.message}`);
    return chain.join(' ← ');
  }
}
