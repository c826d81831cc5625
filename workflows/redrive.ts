import {
  ChildWorkflowFailure,
  ParentClosePolicy,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  setWorkflowOptions,
  sleep,
  startChild,
} from '@temporalio/workflow';
import {
  TypedSearchAttributes,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
} from '@temporalio/common';
import type { Activities } from '../activities';
import { DATABASE_ACTIVITY } from './activity-options';
import { definitionNamed } from './catalog';
import { operatorPriority } from './fairness';
import { processEvent } from './process-event';
import { Definitions, EntityExternalId, EventType, InternalEvent, OperatorId } from './search-attributes';
import {
  REDRIVE_PROGRESS_QUERY,
  redriveChildId,
  type RedriveInput,
  type RedriveProgress,
} from './redrive-types';
import type { FanoutInput, FanoutResult } from './types';

/** A page reads Postgres and describes up to a page of workflows: more than a single query. */
const SELECT_PAGE = { ...DATABASE_ACTIVITY, startToCloseTimeout: '2m' } as const;

export const progressQuery = defineQuery<RedriveProgress>(REDRIVE_PROGRESS_QUERY);

const initialProgress = (total: number | null): RedriveProgress => ({
  total,
  scanned: 0,
  selected: 0,
  completed: 0,
  failed: 0,
  waiting: 0,
  pages: 0,
  cursor: null,
  done: false,
});

/**
 * A re-drive or backfill (ID `redrive:<redriveId>`): runs one definition again, or for the
 * first time, over past events, page by page. An activity selects each page (keyset over
 * events, filtered by what each event's own workflow planned or failed); each selected event
 * gets a child `processEvent` whose plan is that one definition, with the ID
 * `redrive:<redriveId>:<eventId>` and REJECT_DUPLICATE, so each event is run at most once per
 * re-drive whatever is retried, and each re-run is its own visible workflow. A page's children
 * finish before the next page is read, and a timer paces pages to `ratePerSecond`, so a large
 * backfill never floods the task queue ahead of live events. Continue-as-new every
 * `pagesPerRun` pages carries the cursor and the counts.
 */
export async function redriveDefinition(input: RedriveInput): Promise<RedriveProgress> {
  const progress = input.progress ?? initialProgress(input.total ?? null);
  const waits = definitionNamed(input.definition).waits === true;
  setHandler(progressQuery, () => progress);
  const { selectRedrivePage } = proxyActivities<Activities>({
    ...SELECT_PAGE,
    summary: `select events for ${input.definition}`,
  });
  const criteria = {
    mode: input.mode,
    definition: input.definition,
    operatorId: input.operatorId,
    since: input.since,
    until: input.until,
    redriveId: input.redriveId,
  };

  for (let page = 0; page < input.pagesPerRun; page++) {
    const startedAt = Date.now();
    const selected = await selectRedrivePage(criteria, progress.cursor, input.pageSize);
    const runs = selected.events.map((event) => rerun(input, event));
    const results = waits ? await settledWithin(runs, WAITING_GRACE_MS) : await Promise.all(runs);
    progress.pages += 1;
    progress.scanned += selected.scanned;
    progress.selected += selected.events.length;
    for (const status of results) if (status) progress[status] += 1;
    progress.cursor = selected.next;
    progress.done = selected.next === null;
    setCurrentDetails(describeProgress(input, progress));
    if (progress.done) return progress;
    // Paces re-runs, not reads: a page that selected nothing goes on at once.
    const pause = (selected.events.length * 1000) / input.ratePerSecond - (Date.now() - startedAt);
    if (pause > 0) await sleep(pause);
  }
  return await continueAsNew<typeof redriveDefinition>({ ...input, progress });
}

/**
 * How long a page of a definition that waits (`waits: true`) gives its re-runs to end before
 * counting the rest as `waiting` and going on: most end at once (nothing to wait for), and one
 * that waits for days must not stall the re-drive. One durable timer per page.
 */
const WAITING_GRACE_MS = 30_000;

/** Each run's outcome, or `waiting` for those still running when `grace` has passed. */
async function settledWithin(
  runs: Array<Promise<'completed' | 'failed' | null>>,
  graceMs: number,
): Promise<Array<'completed' | 'failed' | 'waiting' | null>> {
  const outcomes: Array<'completed' | 'failed' | 'waiting' | null> = runs.map(() => 'waiting');
  const all = Promise.all(runs.map((run, i) => run.then((o) => (outcomes[i] = o))));
  await Promise.race([all, sleep(graceMs)]);
  // A re-run that fails the re-drive later (not a child failure: those count as failed) must
  // not go unhandled once the page has moved on.
  all.catch(() => undefined);
  return [...outcomes];
}

/** Runs the definition for one event as a child workflow; answers how its run ended. */
async function rerun(input: RedriveInput, event: FanoutInput): Promise<'completed' | 'failed' | null> {
  const pairs = [
    { key: OperatorId, value: event.operatorId },
    { key: EntityExternalId, value: event.externalId },
    { key: InternalEvent, value: event.internalEvent },
    { key: Definitions, value: [input.definition] },
    ...(event.eventType ? [{ key: EventType, value: event.eventType }] : []),
  ];
  const child = await startChild(processEvent, {
    workflowId: redriveChildId(input.redriveId, event.eventId ?? ''),
    args: [{ ...event, definitions: [input.definition] }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    // A re-run that is under way finishes even if the re-drive is terminated.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    typedSearchAttributes: new TypedSearchAttributes(pairs),
    // Its event's operator as its fairness key, as the event's own workflow has it
    // (workflows/fairness.ts), also when the re-drive spans every operator.
    priority: operatorPriority(event.operatorId),
    staticSummary: `${input.mode} ${input.redriveId}: ${input.definition} for event ${event.eventId ?? ''}`,
  }).catch((err: unknown) => {
    // Already run by this re-drive (an event selected twice): once is the promise, and that
    // run was counted when it happened. Anything else fails the re-drive, visibly.
    if (err instanceof WorkflowExecutionAlreadyStartedError) return null;
    throw err;
  });
  if (!child) return null;
  try {
    const result: FanoutResult = await child.result();
    return result.failed > 0 ? 'failed' : 'completed';
  } catch (err) {
    // A re-run terminated or cancelled by hand counts as failed; the re-drive goes on.
    if (err instanceof ChildWorkflowFailure) return 'failed';
    throw err;
  }
}

function describeProgress(input: RedriveInput, p: RedriveProgress): string {
  const of = p.total === null ? '' : ` of ${p.total}`;
  return (
    `${input.mode} of ${input.definition}: ${p.selected}${of} run ` +
    `(${p.completed} completed, ${p.failed} failed${p.waiting ? `, ${p.waiting} left waiting` : ''}), ${p.scanned} events read, ` +
    (p.done ? 'done' : `page ${p.pages}`)
  );
}

// Auto-upgrade: a backfill can run for days, page after page, and is usually started because a
// definition was fixed; on the newest build, its pages' re-runs (children inheriting the
// behaviour start on the current build, then pin there as processEvent does) run the newest
// definitions. Its own steps change behind `patched()`; continue-as-new keeps histories short.
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, redriveDefinition);
