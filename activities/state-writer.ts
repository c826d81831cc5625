import { Context } from '@temporalio/activity';
import type { PendingStart } from '../core/db/outbox';
import { PgCode, withTransaction, type Queryable } from '../core/db/pool';
import { getState, putState } from '../core/db/states';
import { settleOutbox } from '../core/db/waits';
import { startFanout } from '../core/fanout/temporal-start';
import { sendWaitSignals } from '../core/fanout/wait-signals';
import { attemptStableId } from './context';
import type { ResolvedDeps } from './index';

/** The iGaming template's state keys (core/template/igaming.ts). */
export type StateKey = 'balance' | 'kyc_status' | 'risk_score' | 'loyalty_tier' | 'sof_status';

export interface StateTarget {
  operatorId: string;
  externalId: string;
  key: StateKey;
}

/** Returned by a `next` that leaves the state as it is: nothing is written, nothing fans out. */
export const KEEP: unique symbol = Symbol('keep state');

export interface StateWrite {
  /** false when the entity no longer exists (deleted meanwhile): nothing was written. */
  written: boolean;
  value: unknown;
}

/**
 * Writes a state value through the same statement as the API (`putState`), so the write
 * fans out `entity_state.updated.<key>` like any other — a workflow only when its plan is not
 * empty (a definition triggers on it or the operator's endpoint subscribes to it); most writes
 * start none and cost no Action. This activity then takes its outbox row out itself (starting
 * the workflow, if any, and signalling the waits the write satisfies).
 *
 * Why start it here rather than leave the outbox row to the API's relay: the relay only
 * picks a row up after its first-attempt grace period (5 s) and only while an API process
 * runs, which would make every risk flag wait for it; the worker already holds a Temporal
 * client (`Context.current().client`, SDK 1.24). The outbox row still guarantees the start: if
 * it fails here, the activity does not fail (the state is written) and the relay starts it.
 *
 * The fan-out id is derived from the activity, so a retried attempt queues the same workflow
 * ID: at most one `entity_state.updated` fan-out per activity, however often it is retried.
 * A retry after its row was taken out writes again under the same ID: the values written here
 * (kyc_status, risk_score's merged flags, sof_status) come out the same, and a wait keeps one
 * copy of an event per ID.
 */
export async function writeState(
  deps: ResolvedDeps,
  target: StateTarget,
  next: (current: unknown) => unknown,
  lock?: (tx: Queryable) => Promise<void>,
  /** Runs in the same transaction after the write (or the decision to keep): a mark that must commit with it. */
  after?: (tx: Queryable, written: boolean) => Promise<void>,
): Promise<StateWrite> {
  const fanoutId = attemptStableId('ien_', target.key);
  let outcome: { written: boolean; start: PendingStart | null; value: unknown };
  try {
    outcome = await withTransaction(deps.pool, async (tx) => {
      await lock?.(tx);
      const current = await getState(tx, target.operatorId, target.externalId, target.key);
      const value = next(current?.value);
      // A conditional write that finds its own earlier attempt's value (its update id) was written.
      if (value === KEEP) {
        await after?.(tx, false);
        return { written: current?.update_id === fanoutId, start: null, value: current?.value };
      }
      const put = await putState(tx, { ...target, value, fanoutId });
      await after?.(tx, put !== undefined);
      return { written: put !== undefined, start: put?.start ?? null, value };
    });
  } catch (err) {
    // An earlier attempt committed the same write and its outbox row is still queued:
    // that attempt's write stands and the relay will start its fan-out.
    if (isPendingOutboxRow(err)) {
      deps.log.info(
        { key: target.key, externalId: target.externalId },
        'state already written by an earlier attempt',
      );
      const row = await getState(deps.pool, target.operatorId, target.externalId, target.key);
      return { written: true, value: row?.value };
    }
    throw err;
  }
  if (!outcome.written) return { written: false, value: outcome.value };
  if (outcome.start) await startPendingFanout(deps, outcome.start);
  return { written: true, value: outcome.value };
}

function isPendingOutboxRow(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === PgCode.UNIQUE_VIOLATION && e.constraint === 'fanout_outbox_pkey';
}

/**
 * Starts an outbox row an activity just committed (its workflow, if any) and signals the waits
 * it satisfies; on failure the row stays for the outbox relay. For state writes and for a
 * provider result an activity read back (kyc/fetch-result.ts).
 */
export async function startPendingFanout(deps: ResolvedDeps, start: PendingStart): Promise<void> {
  try {
    const client = deps.temporal ?? Context.current().client;
    if (start.start !== false) await startFanout(client, deps.config.TEMPORAL_TASK_QUEUE, start);
    // Matched against open waits as it leaves the outbox; their signals go out now.
    await sendWaitSignals(
      deps.pool,
      client,
      await settleOutbox(deps.pool, [
        { operatorId: start.payload.operatorId, workflowId: start.workflow_id },
      ]),
      deps.log,
    );
  } catch (err) {
    deps.log.warn(
      { err, workflowId: start.workflow_id },
      'state fan-out not started; the outbox relay will start it',
    );
  }
}
