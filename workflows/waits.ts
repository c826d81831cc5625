import {
  condition,
  defineSignal,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { DATABASE_ACTIVITY, DATABASE_LOCAL_ACTIVITY } from './activity-options';
import { durationMs } from './duration';
import { operatorPriority } from './fairness';
import { WaitDeadline, WaitingFor } from './search-attributes';
import type { FanoutInput, WaitEvent } from './types';

/** How recorded internal events reach a waiting workflow (sent by core/fanout/wait-signals.ts). */
export const waitEventSignal = defineSignal<[WaitEvent]>('waitEvent');

/** The entity's erasure ends every wait of its workflows, whatever the definition declares. */
export const ERASURE_EVENT = 'entity.deleted';

/** One kind of internal event a wait accepts: its exact name, and a pure condition on it. */
export interface WaitMatch {
  /** e.g. `entity_event.document`, `entity_state.updated.sof_status`, `provider.webhook.kyc.approved`. */
  event: string;
  /** Pure and deterministic (it runs in workflow code, on replay too). */
  where?: (e: WaitEvent) => boolean;
}

/** A durable step taken when the wait has lasted `after` without being satisfied (a reminder, an escalation). */
export interface Escalation {
  /** A duration (`20d`, `72h`, `30s`) from the start of the wait; one at or past the timeout never runs. */
  after: string;
  run: () => Promise<unknown>;
}

export interface WaitOptions {
  /** What it waits for, in words, for ops (the Temporal UI, GET /events/:id/fanout). */
  label: string;
  /** The first later event matching any of these satisfies the wait; the others stop counting. */
  for: WaitMatch | WaitMatch[];
  /** A duration (`30d`, `24h`, `20s`): the wait then answers `timed_out`. */
  timeout: string;
  escalations?: Escalation[];
}

/** How a wait ended, as a value. Cancellation does not return here: it ends the definition (see processEvent). */
export type WaitOutcome =
  | { status: 'satisfied'; event: WaitEvent; /** Index in `for`. */ matched: number }
  | { status: 'timed_out'; deadline: string };

/**
 * Ends a definition whose wait saw one of its `cancelOn` events or the entity's erasure.
 * Caught only by processEvent, which runs the definition's cleanup and reports it cancelled.
 */
export class DefinitionCancelled extends Error {
  override readonly name = 'DefinitionCancelled';
  constructor(readonly event: WaitEvent) {
    super(`cancelled by ${event.internalEvent}`);
  }
}

interface OpenWait {
  definition: string;
  label: string;
  events: string[];
  deadline: number;
}

const matches = (m: WaitMatch, e: WaitEvent) => m.event === e.internalEvent && (m.where ? m.where(e) : true);

/**
 * The waits of one event's workflow. Signals fill an inbox (handled once per event key);
 * each wait first reads what was recorded before it could listen (its lookback, through
 * openWait), then the inbox, then waits on a condition with a durable timer: whatever
 * arrives first decides, and nothing arriving in between is lost (STYLE 20).
 */
export class Waits {
  private readonly inbox: WaitEvent[] = [];
  private readonly seen = new Set<string>();
  private readonly listeners = new Set<(e: WaitEvent) => void>();
  private readonly open = new Map<string, OpenWait>();
  /** Per definition: its waits so far (for deterministic wait ids) and the events that satisfied them. */
  private readonly counts = new Map<string, number>();
  private readonly consumed = new Map<string, Set<string>>();
  /** The last wait closed and WaitingFor/WaitDeadline still name it: cleared at the next step (flush). */
  private clearPending = false;

  constructor(private readonly input: FanoutInput) {
    setHandler(waitEventSignal, (e) => {
      if (this.seen.has(e.key)) return;
      this.seen.add(e.key);
      this.inbox.push(e);
      for (const listen of this.listeners) listen(e);
    });
  }

  async waitFor(definition: string, cancelOn: WaitMatch[], opts: WaitOptions): Promise<WaitOutcome> {
    const wanted = Array.isArray(opts.for) ? opts.for : [opts.for];
    const n = (this.counts.get(definition) ?? 0) + 1;
    this.counts.set(definition, n);
    const waitId = `${definition}/${n}`;
    const key = { operatorId: this.input.operatorId, workflowId: workflowInfo().workflowId, waitId };
    const consumed = this.consumed.get(definition) ?? new Set<string>();
    this.consumed.set(definition, consumed);
    const started = Date.now(); // workflow time: the same on replay
    const deadline = started + durationMs(opts.timeout);
    const events = [...new Set([...wanted, ...cancelOn].map((m) => m.event).concat(ERASURE_EVENT))];

    let satisfied: { event: WaitEvent; matched: number } | undefined;
    let cancelledBy: WaitEvent | undefined;
    const handled = new Set<string>();
    const consider = (e: WaitEvent) => {
      if (satisfied || cancelledBy || handled.has(e.key) || consumed.has(e.key)) return;
      handled.add(e.key);
      if (e.internalEvent === ERASURE_EVENT || cancelOn.some((m) => matches(m, e))) {
        cancelledBy = e;
        return;
      }
      const matched = wanted.findIndex((m) => matches(m, e));
      if (matched >= 0) satisfied = { event: e, matched };
    };

    const db = proxyActivities<Activities>({
      ...DATABASE_ACTIVITY,
      summary: `${definition}: wait`,
      priority: operatorPriority(this.input.operatorId),
    });
    this.listeners.add(consider);
    this.open.set(waitId, { definition, label: opts.label, events, deadline });
    this.publish();
    try {
      let page = await db.openWait({
        workflowId: workflowInfo().workflowId,
        waitId,
        operatorId: this.input.operatorId,
        externalId: this.input.externalId,
        definition,
        internalEvents: events,
        eventId: this.input.eventId,
        occurredAt: this.input.occurredAt,
        label: opts.label,
        deadline: new Date(deadline).toISOString(),
      });
      page.events.forEach(consider);
      while (page.next && !satisfied && !cancelledBy) {
        page = await db.readWaitLookback({ ...key, after: page.next });
        page.events.forEach(consider);
      }
      // Signals that arrived before the wait listened, oldest first.
      this.inbox.forEach(consider);

      const steps = (opts.escalations ?? [])
        .map((s) => ({ at: started + durationMs(s.after), run: s.run }))
        .filter((s) => s.at < deadline)
        .sort((a, b) => a.at - b.at);
      const settled = () => satisfied !== undefined || cancelledBy !== undefined;
      for (const step of [...steps, { at: deadline, run: undefined }]) {
        if (settled()) break;
        const summary = step.run ? `${definition}: escalation` : `${definition}: deadline of ${opts.label}`;
        if (await condition(settled, Math.max(1, step.at - Date.now()), { summary })) break;
        if (step.run) await step.run();
      }
    } finally {
      this.listeners.delete(consider);
      this.open.delete(waitId);
    }
    // Closed before the outcome is acted on, so no further signal is queued for it. At a
    // timeout, what was recorded before the deadline but not yet delivered still counts.
    const timedOut = !satisfied && !cancelledBy;
    // A local activity: it runs inside the workflow task that saw the outcome, so a resumed wait
    // costs one workflow task and no activity task on the queue (the waits benchmark's path).
    const { closeWait } = proxyLocalActivities<Activities>({
      ...DATABASE_LOCAL_ACTIVITY,
      summary: `${definition}: close wait`,
    });
    // What cancelled it goes with the close (kept in Postgres for the fan-out status while the
    // workflow runs on: the history has no mark of it until the result). A local activity's
    // input is not in its marker, so this changes nothing on replay.
    const cancellation = (e: WaitEvent) => ({
      definition,
      internalEvent: e.internalEvent,
      eventId: e.eventId ?? null,
      at: e.at,
    });
    const late = await closeWait({
      ...key,
      lookback: timedOut,
      ...(cancelledBy && { cancelledBy: cancellation(cancelledBy) }),
    });
    if (timedOut) {
      late?.events.filter((e) => Date.parse(e.at) <= deadline).forEach(consider);
      // A cancelling event found only by the late lookback: the close above could not name it.
      // Closing again (the delete is a no-op) writes it, one more marker on this rare path only;
      // processEvent is pinned, so no run started on the previous build replays through it.
      if (cancelledBy) await closeWait({ ...key, cancelledBy: cancellation(cancelledBy) });
    }
    this.publish();
    if (cancelledBy) throw new DefinitionCancelled(cancelledBy);
    if (satisfied) {
      consumed.add(satisfied.event.key);
      return { status: 'satisfied', ...satisfied };
    }
    return { status: 'timed_out', deadline: new Date(deadline).toISOString() };
  }

  /**
   * Clears `WaitingFor`/`WaitDeadline` once no wait is open, if the workflow takes another step
   * (processEvent calls this before each activity): a run that ends with its wait skips the
   * upsert (one Action), and its closed execution keeps the attributes, so "waiting now" is
   * `WaitingFor = '…' AND ExecutionStatus = 'Running'`.
   */
  flush(): void {
    if (!this.clearPending) return;
    this.clearPending = false;
    upsertSearchAttributes([
      { key: WaitingFor, value: null },
      { key: WaitDeadline, value: null },
    ]);
  }

  /**
   * What waits, for ops: `WaitingFor` (the definitions waiting) and `WaitDeadline` (the nearest
   * deadline) as search attributes, readable without a worker; the UI's current details. One
   * upsert (one Action) when a wait opens, and one when the last closes if the run goes on (flush).
   */
  private publish(): void {
    const waits = [...this.open.values()];
    if (waits.length === 0) {
      this.clearPending = true;
      setCurrentDetails('');
      return;
    }
    this.clearPending = false;
    const nearest = Math.min(...waits.map((w) => w.deadline));
    upsertSearchAttributes([
      { key: WaitingFor, value: [...new Set(waits.map((w) => w.definition))] },
      { key: WaitDeadline, value: new Date(nearest) },
    ]);
    setCurrentDetails(
      waits
        .map(
          (w) =>
            `**${w.definition}** waits for ${w.label} (${w.events.join(', ')}) until ${new Date(w.deadline).toISOString()}`,
        )
        .join('\n\n'),
    );
  }
}
