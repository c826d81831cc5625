import { API_PREFIX as P } from '../api/openapi';
import { postJson, type Outcome } from './load';
import { effectsPerEvent, kycRecorded, sandboxState } from './provider';
import { sleep } from './scenario';
import type { FaultStack } from './stack';

/*
 * KYC checks in flight while a process dies: what scenarios d (worker SIGKILL) and
 * e (SIGTERM) provoke and then count at the sandbox provider.
 */

/** First deposits of `slow…` applicants: each starts a KYC check the sandbox answers late. */
export async function postSlowDeposits(
  stack: FaultStack,
  apiKey: string,
  applicants: string[],
): Promise<{ ids: string[]; outcomes: Outcome[] }> {
  const answers = await Promise.all(
    applicants.map((p) =>
      postJson(`${stack.apiUrl}${P}/entities/${p}/events`, apiKey, {
        eventType: 'transaction',
        data: { type: 'deposit', amount: 50, currency: 'GBP', method: 'card', reference: `dep_${p}` },
      }),
    ),
  );
  const bad = answers.filter((a) => !a.eventId);
  if (bad.length) throw new Error(`deposit not recorded: ${bad[0]!.status} ${JSON.stringify(bad[0]!.body)}`);
  return { ids: answers.map((a) => a.eventId!), outcomes: answers };
}

/**
 * Waits until the sandbox has seen a call for each applicant (their checks are in flight), or
 * until `graceMs` after the first one: the client gives up on a slow answer after
 * HTTP_TIMEOUT_MS (20 s in the fault stack), and the fault must land before that.
 */
export async function waitForCalls(
  stack: FaultStack,
  applicants: string[],
  timeoutMs: number,
  graceMs = 8000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  let firstAt: number | undefined;
  while (Date.now() < deadline) {
    const { calls } = await sandboxState(stack.sandboxUrl);
    seen = new Set(
      calls.flatMap((c) => (c.applicantId && applicants.includes(c.applicantId) ? [c.applicantId] : [])),
    ).size;
    if (seen > 0) firstAt ??= Date.now();
    if (seen === applicants.length || (firstAt && Date.now() - firstAt > graceMs)) break;
    await sleep(200);
  }
  return seen;
}

/**
 * Waits until no workflow is running, so that the KYC activities a scenario provokes are not
 * queued behind other workflows' tasks (creating the run's players fans out too).
 */
export async function waitForQuiet(stack: FaultStack, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { count } = await stack.temporal.workflow.count(`ExecutionStatus = 'Running'`);
    if (count === 0) return;
    await sleep(1000);
  }
}

export async function waitForKyc(
  stack: FaultStack,
  operatorId: string,
  eventIds: string[],
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let done = 0;
  while (Date.now() < deadline) {
    const recorded = await kycRecorded(stack.pool, operatorId);
    done = eventIds.filter((id) => recorded.has(id)).length;
    if (done === eventIds.length) break;
    await sleep(1000);
  }
  return done;
}

/** Provider-side effects per deposit: exactly one check each, and how many calls it took. */
export async function providerEffects(stack: FaultStack, eventIds: string[]) {
  const state = await sandboxState(stack.sandboxUrl);
  const perEvent = effectsPerEvent(state, eventIds);
  const keys = new Set(
    state.checks.filter((c) => eventIds.includes(c.reference ?? '')).map((c) => c.idempotencyKey),
  );
  const calls = state.calls.filter((c) => c.idempotencyKey && keys.has(c.idempotencyKey)).length;
  const notOnce = perEvent.filter((e) => e.checks !== 1);
  return { checks: perEvent.reduce((n, e) => n + e.checks, 0), calls, notOnce };
}
