import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { clearSignal, dropWaitsOf, leaseDueSignals, markSignalFailed, type WaitSignal } from '../db/waits';

/** The signal processEvent listens on (workflows/waits.ts `waitEventSignal`). */
export const WAIT_EVENT_SIGNAL = 'waitEvent';

/** gRPC NOT_FOUND: what Temporal answers a signal to a workflow that has closed. */
const GRPC_NOT_FOUND = 5;

/** A signal unanswered this long is given up for now and retried with backoff (as a start is). */
const SIGNAL_TIMEOUT_MS = 10_000;

/** How long a relay holds the signal rows it leased before another may take them. */
const SIGNAL_LEASE_SECONDS = 30;

/**
 * The request id of one event's signal to one workflow: the same however often it is sent, so
 * Temporal records a repeat (a crash between sending and deleting the row) only once. A UUID in
 * form, as the service expects request ids to be.
 */
export function signalRequestId(workflowId: string, eventKey: string): string {
  const h = createHash('sha256').update(`${workflowId}\n${eventKey}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Sends one queued signal and clears its row. A workflow that is closed (completed, terminated)
 * can no longer wait: the row goes, and so do that workflow's leftover waits. Anything else
 * leaves the row for a later attempt, with backoff.
 */
export async function sendWaitSignal(
  pool: Pool,
  client: Client,
  signal: WaitSignal,
  log: Logger,
): Promise<'sent' | 'closed' | 'failed'> {
  try {
    // Bounded like a workflow start: a hung Temporal must not hold the sender (the row stays).
    await client.withDeadline(Date.now() + SIGNAL_TIMEOUT_MS, () =>
      client.workflowService.signalWorkflowExecution({
        namespace: client.options.namespace,
        workflowExecution: { workflowId: signal.workflow_id },
        signalName: WAIT_EVENT_SIGNAL,
        input: { payloads: [defaultPayloadConverter.toPayload(signal.payload)] },
        identity: client.options.identity,
        requestId: signalRequestId(signal.workflow_id, signal.event_key),
      }),
    );
    await clearSignal(pool, signal);
    return 'sent';
  } catch (err) {
    if ((err as { code?: number }).code === GRPC_NOT_FOUND) {
      await clearSignal(pool, signal);
      await dropWaitsOf(pool, signal.operator_id, signal.workflow_id);
      return 'closed';
    }
    log.warn(
      { err, workflowId: signal.workflow_id, eventKey: signal.event_key },
      'wait signal failed; will retry',
    );
    await markSignalFailed(pool, signal, (err as Error).message ?? String(err)).catch(() => undefined);
    return 'failed';
  }
}

/** Sends these signals now, in parallel; never throws (a row left behind is the relay's). */
export async function sendWaitSignals(
  pool: Pool,
  client: Client,
  signals: WaitSignal[],
  log: Logger,
): Promise<void> {
  await Promise.all(
    signals.map((s) =>
      sendWaitSignal(pool, client, s, log).catch((err: unknown) =>
        log.warn({ err, workflowId: s.workflow_id }, 'wait signal not sent; the relay will retry'),
      ),
    ),
  );
}

/** One relay sweep of due signals (the immediate send did not happen or failed); answers how many. */
export async function relayWaitSignals(pool: Pool, client: Client, log: Logger, limit = 64): Promise<number> {
  const due = await leaseDueSignals(pool, limit, SIGNAL_LEASE_SECONDS);
  await sendWaitSignals(pool, client, due, log);
  return due.length;
}
