import type { Client } from '@temporalio/client';
import type { KycResultApplied } from '../../activities/kyc/results';
import type { WaitEvent } from '../../workflows/types';
import {
  closeStatus,
  decodeFirst,
  definitionRunOf,
  eachConcurrently,
  eventMs,
  type History,
} from './history-reading';

/**
 * What one workflow of the KYC flow did, read from its Temporal history: a deposit's
 * (kyc-on-deposit, which waits) or a provider result's own (kyc-result). The benchmark
 * (bench/scenarios/kyc-results.ts) and the fault suite (faults/scenarios/kyc-results-under-faults.ts)
 * count exactly-once from these.
 */
export interface KycHistory {
  workflowId: string;
  /** COMPLETED, FAILED, TIMED_OUT, CANCELED, TERMINATED, CONTINUED_AS_NEW, or RUNNING (no close event). */
  status: string;
  /** applyKycResult activities scheduled (a retry is an attempt of one scheduled activity). */
  applyScheduled: number;
  /** What each completed applyKycResult answered. */
  applies: KycResultApplied[];
  /** setKycPending activities scheduled. */
  pendingScheduled: number;
  /** waitEvent signals per event key. */
  signalsPerKey: Map<string, number>;
  /** The server's time of the first waitEvent signal (ms since epoch). */
  firstSignalAt?: number;
  /** The definition's run in the workflow's result, when it completed. */
  run?: { status: string; result?: Record<string, unknown> };
}

/** Reads one history; `definition` names the run whose result is kept (kyc-on-deposit or kyc-result). */
export function readKycHistory(workflowId: string, history: History, definition: string): KycHistory {
  const h: KycHistory = {
    workflowId,
    status: 'RUNNING',
    applyScheduled: 0,
    applies: [],
    pendingScheduled: 0,
    signalsPerKey: new Map(),
  };
  const scheduled = new Map<number, string>();
  for (const e of history.events ?? []) {
    const signaled = e.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName === 'waitEvent') {
      const ev = decodeFirst<WaitEvent>(signaled.input);
      if (ev) h.signalsPerKey.set(ev.key, (h.signalsPerKey.get(ev.key) ?? 0) + 1);
      h.firstSignalAt ??= eventMs(e.eventTime);
    }
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      const name = sched.activityType?.name ?? '';
      scheduled.set(Number(e.eventId), name);
      if (name === 'applyKycResult') h.applyScheduled++;
      if (name === 'setKycPending') h.pendingScheduled++;
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.get(Number(done.scheduledEventId)) === 'applyKycResult') {
      const answer = decodeFirst<KycResultApplied>(done.result);
      if (answer) h.applies.push(answer);
    }
    h.status = closeStatus(e) ?? h.status;
    h.run = definitionRunOf(e, definition) ?? h.run;
  }
  return h;
}

/** readKycHistory for many workflows, `concurrency` at a time (a missing workflow counts as MISSING). */
export async function fetchKycHistories(
  client: Client,
  workflowIds: string[],
  definition: string,
  concurrency = 16,
): Promise<Map<string, KycHistory>> {
  const missing = (id: string): KycHistory => ({
    workflowId: id,
    status: 'MISSING',
    applyScheduled: 0,
    applies: [],
    pendingScheduled: 0,
    signalsPerKey: new Map(),
  });
  const read = await eachConcurrently(workflowIds, concurrency, async (id) => {
    try {
      return readKycHistory(id, await client.workflow.getHandle(id).fetchHistory(), definition);
    } catch {
      return missing(id);
    }
  });
  return new Map(read.map((h) => [h.workflowId, h]));
}

/** One check's two workflows: its deposit's (waiting) and its result's (kyc-result). */
export interface CheckWorkflows {
  checkId: string;
  deposit?: KycHistory;
  result?: KycHistory;
}

/**
 * The exactly-once verdicts over a set of checks, each delivered (and accepted) once: a
 * problem list per kind, empty when all is well. `expected` is the status every check ends in.
 */
export function checkKycHistories(checks: CheckWorkflows[], expected: string) {
  const problems = {
    /** Not exactly one applyKycResult answered `applied` across the check's two workflows. */
    appliedNotOnce: [] as string[],
    /** A workflow scheduled applyKycResult more than once. */
    applyRepeated: [] as string[],
    /** A workflow that did not complete. */
    notCompleted: [] as string[],
    /** The deposit's kyc-on-deposit did not end `expected`. */
    wrongOutcome: [] as string[],
    /** An event key signalled twice to the deposit's workflow. */
    signalRepeated: [] as string[],
  };
  let byDeposit = 0;
  let byResult = 0;
  for (const c of checks) {
    const applied = [c.deposit, c.result].flatMap((h) => h?.applies.filter((a) => a.applied) ?? []);
    if (applied.length !== 1) problems.appliedNotOnce.push(`${c.checkId} ×${applied.length}`);
    if (c.deposit?.applies.some((a) => a.applied)) byDeposit++;
    if (c.result?.applies.some((a) => a.applied)) byResult++;
    for (const h of [c.deposit, c.result]) {
      if (!h || h.status !== 'COMPLETED')
        problems.notCompleted.push(h ? `${h.workflowId} ${h.status}` : c.checkId);
      if (h && h.applyScheduled > 1) problems.applyRepeated.push(`${h.workflowId} ×${h.applyScheduled}`);
    }
    const status = c.deposit?.run?.result?.status;
    if (c.deposit?.run?.status !== 'completed' || status !== expected)
      problems.wrongOutcome.push(`${c.deposit?.workflowId ?? c.checkId}: ${JSON.stringify(c.deposit?.run)}`);
    for (const [k, n] of c.deposit?.signalsPerKey ?? [])
      if (n > 1) problems.signalRepeated.push(`${c.deposit!.workflowId} ${k} ×${n}`);
  }
  return { problems, byDeposit, byResult };
}
