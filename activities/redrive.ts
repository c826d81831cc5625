import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Queryable } from '../core/db/pool';
import { redriveEventsPage, type RedriveEventRow } from '../core/db/redrive-events';
import { registeredOverlaps, type RegisteredRedrive } from '../core/db/redrives';
import { eventWorkflowId } from '../core/ids';
import * as SA from '../workflows/search-attributes';
import { definitionNamed } from '../workflows/catalog';
import { definitionMatches, triggersOf, type Definition } from '../workflows/definition';
import {
  redriveChildId,
  type RedriveCriteria,
  type RedriveCursor,
  type RedrivePage,
} from '../workflows/redrive-types';
import type { FanoutInput } from '../workflows/types';
import type { ResolvedDeps } from '.';

/** Describes of original workflows in flight at once, per page. */
const DESCRIBE_CONCURRENCY = 16;

/** What the original workflow of an event planned and which of its definitions failed. */
interface EventOutcome {
  definitions: string[];
  failed: string[];
}

const RECORDED = 'entity_event.';

/** Whether any trigger of the definition can match a recorded event (`entity_event.<type>`). */
export function triggersOnRecordedEvents(def: Definition): boolean {
  return triggersOf(def.trigger).some((t) =>
    t.endsWith('*') ? RECORDED.startsWith(t.slice(0, -1)) || t.startsWith(RECORDED) : t.startsWith(RECORDED),
  );
}

function inputOf(row: RedriveEventRow): FanoutInput {
  return {
    internalEvent: `entity_event.${row.event_type}`,
    operatorId: row.operator_id,
    externalId: row.external_id,
    eventId: row.id,
    eventType: row.event_type,
    data: row.data,
    occurredAt: row.created_at,
  };
}

/**
 * The event workflow's plan and failures, read with describe rather than a visibility list:
 * describe is consistent the moment a definition fails, a list lags behind it. Null when the
 * event has no workflow yet (its outbox row is still pending): there is nothing to re-drive,
 * and a backfill cannot yet know whether the plan holds the definition, so it skips it.
 */
async function outcomeOf(client: Client, input: FanoutInput): Promise<EventOutcome | null> {
  try {
    const d = await client.workflow.getHandle(eventWorkflowId(input.eventType!, input.eventId!)).describe();
    return {
      definitions: d.typedSearchAttributes.get(SA.Definitions) ?? [],
      failed: d.typedSearchAttributes.get(SA.FailedDefinitions) ?? [],
    };
  } catch (err) {
    if ((err as Error)?.name === 'WorkflowNotFoundError') return null;
    throw err;
  }
}

/**
 * Whether an earlier backfill of the definition already ran it for this event: its re-run
 * (the deterministic child ID) exists and does not name the definition as failed — a failed
 * one may run again. Earlier backfills are the CLI's registrations (migration 011) over an
 * overlapping range; each costs one describe, consistent at once, unlike a visibility list.
 */
async function backfilledBefore(
  client: Client,
  earlier: RegisteredRedrive[],
  definition: string,
  input: FanoutInput,
): Promise<boolean> {
  for (const r of earlier) {
    try {
      const d = await client.workflow.getHandle(redriveChildId(r.id, input.eventId!)).describe();
      if (!(d.typedSearchAttributes.get(SA.FailedDefinitions) ?? []).includes(definition)) return true;
    } catch (err) {
      if ((err as Error)?.name !== 'WorkflowNotFoundError') throw err;
    }
  }
  return false;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return out;
}

function wanted(c: RedriveCriteria, outcome: EventOutcome | null): boolean {
  if (!outcome) return false;
  switch (c.mode) {
    case 'redrive':
      return outcome.definitions.includes(c.definition);
    case 'redrive-failed':
      return outcome.failed.includes(c.definition);
    case 'backfill':
      return !outcome.definitions.includes(c.definition);
  }
}

/**
 * One page of a re-drive's selection: the events in range that its definition's triggers
 * match (and, for a backfill, its condition), kept by what their own workflow did. Shared by
 * the activity and by the CLI's count, so the count is what the workflow will run.
 */
export async function selectRedrivePage(
  db: Queryable,
  client: Client,
  c: RedriveCriteria,
  after: RedriveCursor | null,
  limit: number,
): Promise<RedrivePage> {
  const def = definitionNamed(c.definition);
  const rows = await redriveEventsPage(db, {
    operatorId: c.operatorId,
    since: c.since,
    until: c.until,
    triggers: triggersOf(def.trigger),
    after,
    limit,
    ...(c.mode === 'backfill' ? { unlessDisabled: def.name } : {}),
  });
  const candidates = rows
    .map(inputOf)
    .filter((input) => (c.mode === 'backfill' ? definitionMatches(def, input) : true));
  const outcomes = await mapLimit(candidates, DESCRIBE_CONCURRENCY, (input) => outcomeOf(client, input));
  let events = candidates.filter((_, i) => wanted(c, outcomes[i] ?? null));
  if (c.mode === 'backfill' && events.length > 0) {
    const earlier = (await registeredOverlaps(db, c)).filter((r) => r.id !== c.redriveId);
    if (earlier.length > 0) {
      const done = await mapLimit(events, DESCRIBE_CONCURRENCY, (input) =>
        backfilledBefore(client, earlier, def.name, input),
      );
      events = events.filter((_, i) => !done[i]);
    }
  }
  const last = rows[rows.length - 1];
  return {
    events,
    scanned: rows.length,
    next: last && rows.length === limit ? { createdAt: last.created_at_exact, id: last.id } : null,
  };
}

/** Counts a re-drive's selection page by page, as the workflow will walk it. */
export async function countRedrive(
  db: Queryable,
  client: Client,
  c: RedriveCriteria,
  pageSize: number,
): Promise<number> {
  let total = 0;
  let cursor: RedriveCursor | null = null;
  do {
    const page = await selectRedrivePage(db, client, c, cursor, pageSize);
    total += page.events.length;
    cursor = page.next;
  } while (cursor);
  return total;
}

export function redriveActivities(deps: ResolvedDeps) {
  return {
    /** The next page of a re-drive or backfill (workflow `redriveDefinition`). */
    async selectRedrivePage(
      c: RedriveCriteria,
      after: RedriveCursor | null,
      limit: number,
    ): Promise<RedrivePage> {
      return selectRedrivePage(deps.pool, deps.temporal ?? Context.current().client, c, after, limit);
    },
  };
}
