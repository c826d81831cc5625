import { isGrpcDeadlineError, isGrpcServiceError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { findEventForOperator } from '../db/events';
import { isPending } from '../db/outbox';
import { redrivesCovering, type RegisteredRedrive } from '../db/redrives';
import { waitsOf } from '../db/waits';
import { eventWorkflowId } from '../ids';
import type { Logger } from '../logger';
import type { DefinitionState } from '../temporal/history-outcomes';
import { readWorkflowOutcome, type WorkflowStatus } from '../temporal/workflow-outcome';
import { redriveChildId, type RedriveMode } from '../../workflows/redrive-types';

export interface FanoutStatusDeps {
  pool: Pool;
  temporal: Client;
  /** How long Temporal gets to answer before outcomes are reported unavailable (3 s). */
  fanoutStatusTimeoutMs?: number;
  log?: Logger;
}

// gRPC's UNAVAILABLE: the server is not reachable (connection refused, reset).
const GRPC_UNAVAILABLE = 14;

/** One re-run of a definition for this event by a re-drive or backfill, and how it stands. */
export type RedriveRun = DefinitionState & {
  redriveId: string;
  mode: RedriveMode;
  workflowId: string;
};

/** A definition of the plan (or one only a backfill ran: `not_planned`) with its re-runs. */
export type DefinitionStatus = (
  | DefinitionState
  | { definition: string; status: 'pending' | 'not_planned' }
) & {
  redrives: RedriveRun[];
};

export type Outcomes =
  | { available: true; workflowStatus: WorkflowStatus | 'not_started'; definitions: DefinitionStatus[] }
  | { available: false; reason: string };

export interface FanoutStatus {
  eventId: string;
  workflowId: string;
  state: 'pending' | 'started';
  pendingSince?: Date;
  attempts?: number;
  outcomes: Outcomes;
}

// Each registered re-drive covering the event costs one describe: enough for any real history
// of re-drives of one event, and a bound on the work of one request.
const MAX_REDRIVES = 20;

async function reRuns(deps: FanoutStatusDeps, operatorId: string, event: { id: string; created_at: Date }) {
  const candidates = await redrivesCovering(deps.pool, {
    operatorId,
    createdAt: event.created_at,
    limit: MAX_REDRIVES,
  });
  const runs = await Promise.all(
    candidates.map(async (r: RegisteredRedrive): Promise<RedriveRun | null> => {
      // Not found: this re-drive did not select the event (or has not reached it yet).
      const outcome = await readWorkflowOutcome(deps.temporal, redriveChildId(r.id, event.id));
      const state = outcome?.definitions[0];
      return outcome && state
        ? { ...state, redriveId: r.id, mode: r.mode, workflowId: outcome.workflowId }
        : null;
    }),
  );
  // Oldest first, as they ran.
  return runs.filter((r): r is RedriveRun => r !== null).reverse();
}

async function outcomesFromTemporal(
  deps: FanoutStatusDeps,
  operatorId: string,
  event: { id: string; created_at: Date },
  workflowId: string,
): Promise<Outcomes> {
  const [original, redrives, waits] = await Promise.all([
    readWorkflowOutcome(deps.temporal, workflowId),
    reRuns(deps, operatorId, event),
    waitsOf(deps.pool, operatorId, workflowId),
  ]);
  if (!original) {
    return {
      available: false,
      reason:
        "Temporal no longer has this event's workflow (closed longer ago than the namespace's retention)",
    };
  }
  const planned = new Set(original.definitions.map((d) => d.definition));
  const backfilledOnly = [...new Set(redrives.map((r) => r.definition))].filter((d) => !planned.has(d));
  const runsOf = (definition: string) => redrives.filter((r) => r.definition === definition);
  // A definition parked in a wait has no open activity, so its history alone reads as done:
  // its open wait (Postgres, written by the wait itself) says what it waits for, until when.
  // Likewise a definition whose wait a later event cancelled, while the workflow runs its others
  // (its history shows nothing of it until the result): closeWait wrote what cancelled it.
  const withWaits = (d: DefinitionState): DefinitionState => {
    if (original.status !== 'running' || (d.status !== 'completed' && d.status !== 'running')) return d;
    const c = waits.cancelled.find((x) => x.definition === d.definition);
    if (c) {
      const cancelledBy = { internalEvent: c.internalEvent, eventId: c.eventId, at: c.at };
      return { definition: d.definition, status: 'cancelled', cancelledBy };
    }
    const w = waits.open.find((x) => x.definition === d.definition);
    if (!w) return d;
    return {
      definition: d.definition,
      status: 'waiting',
      waitingFor: w.label,
      events: w.internalEvents,
      deadline: w.deadline,
      since: w.openedAt,
    };
  };
  return {
    available: true,
    workflowStatus: original.status,
    definitions: [
      ...original.definitions.map((d) => ({ ...withWaits(d), redrives: runsOf(d.definition) })),
      ...backfilledOnly.map((definition) => ({
        definition,
        status: 'not_planned' as const,
        redrives: runsOf(definition),
      })),
    ],
  };
}

/**
 * Bounded: a Temporal that is down or stalled costs the caller `ms`, never a hung request or a
 * 500. Any other failure to read (a bug here, a permission) also leaves the Postgres state
 * standing, and is logged: it would otherwise hide behind "unavailable".
 */
async function withinDeadline(
  deps: FanoutStatusDeps,
  ms: number,
  fn: () => Promise<Outcomes>,
): Promise<Outcomes> {
  const silent: Outcomes = {
    available: false,
    reason: `Temporal did not answer within ${ms} ms; outcomes are unavailable for now`,
  };
  const failed = (err: unknown): Outcomes => {
    if (isGrpcDeadlineError(err) || (isGrpcServiceError(err) && err.code === GRPC_UNAVAILABLE)) return silent;
    deps.log?.warn({ err }, 'fan-out outcomes could not be read from Temporal');
    return { available: false, reason: 'Outcomes could not be read from Temporal; try again later' };
  };
  let timer: NodeJS.Timeout | undefined;
  // The gRPC deadline ends the calls; the timer is a backstop for anything that ignores it
  // (a connection still being established).
  const backstop = new Promise<Outcomes>((resolve) => {
    timer = setTimeout(() => resolve(silent), ms + 250);
  });
  try {
    return await Promise.race([deps.temporal.withDeadline(Date.now() + ms, fn).catch(failed), backstop]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An event's fan-out, for its operator only (undefined for another operator's event): whether
 * its workflow started (Postgres: the outbox), and, read from Temporal, how each planned
 * definition stands and which re-drives re-ran it. Re-runs are found from the registered
 * re-drives whose range covers the event (migration 011), each then described by its
 * deterministic child ID `redrive:<id>:<eventId>`: strongly consistent and a handful of point
 * reads. The alternative, a visibility query, cannot match the event id (a suffix of the ID:
 * `WorkflowId STARTS_WITH` matches prefixes only) without listing every re-run of the
 * operator's entity, and would miss a re-run started a moment ago (visibility lags).
 */
export async function fanoutStatus(
  deps: FanoutStatusDeps,
  operatorId: string,
  eventId: string,
): Promise<FanoutStatus | undefined> {
  const event = await findEventForOperator(deps.pool, operatorId, eventId);
  if (!event) return undefined;
  const workflowId = eventWorkflowId(event.event_type, event.id);
  const pending = await isPending(deps.pool, operatorId, workflowId);
  if (pending) {
    // Nothing in Temporal yet (and nothing re-driven: re-drives skip events not started).
    const definitions = pending.definitions.map((definition) => ({
      definition,
      status: 'pending' as const,
      redrives: [],
    }));
    return {
      eventId: event.id,
      workflowId,
      state: 'pending',
      pendingSince: pending.since,
      attempts: pending.attempts,
      outcomes: { available: true, workflowStatus: 'not_started', definitions },
    };
  }
  const outcomes = await withinDeadline(deps, deps.fanoutStatusTimeoutMs ?? 3000, () =>
    outcomesFromTemporal(deps, operatorId, event, workflowId),
  );
  return { eventId: event.id, workflowId, state: 'started', outcomes };
}
