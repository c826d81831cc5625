import { API_PREFIX as P } from '../../api/openapi';
import { checkKycHistories, fetchKycHistories } from '../../bench/lib/kyc-histories';
import { createOperator } from '../../core/admin/operators';
import { postJson, sendJson, type Outcome } from '../load';
import { players } from '../operator';
import { countBy, expect, noLossExpectations, sleep, type Expectation, type Scenario } from '../scenario';
import type { FaultStack } from '../stack';
import { verifyRun } from '../verify';

/** Checks per phase: one phase with the worker stopped, one with Temporal paused. */
const SIZE = { quick: 20, full: 100 };
/** How long Temporal stays frozen, and how long the worker stays down after the last delivery. */
const PAUSE_MS = 25_000;
const WORKER_DOWN_AFTER_MS = 10_000;
/**
 * How long the API stays down in phase 3 beyond the time the sandbox takes to send every result
 * once (n × GAP_MS): each first send must meet no API, however fast the restart is (on a quiet
 * machine it takes about a second; a fixed 8 s once let the last 13 of 100 first sends through).
 */
const API_DOWN_AFTER_SENDS_MS = 3_000;
/** The sandbox's pace when a phase's results are released: 10 webhooks a second. */
const GAP_MS = 100;
const OFF = ['aml-threshold', 'affordability-check', 'source-of-funds'];

interface SandboxAttempt {
  webhookId: string;
  checkId: string;
  attempt: number;
  status: number;
  at: string;
}

interface Phase {
  name: string;
  /** Player ids and their deposit's event ids. */
  ids: string[];
  deposits: Outcome[];
  releasedAt: number;
  faultFrom: number;
  faultTo: number;
  /** The last of the phase's results written (kyc_status approved), ms since epoch. */
  lastApprovedAt?: number;
  allApproved: boolean;
  /** Phase-specific observation (the probe of a paused Temporal). */
  note: string;
}

/**
 * h. KYC results (issue 22) delivered while the worker is stopped, then while Temporal is frozen.
 * An operator with a `sandbox` provider connection; the fault stack's sandbox process holds
 * every result (`PUT /v2/sandbox/delivery {"hold": true}`) until the phase's deposits all wait
 * (kyc_status `pending`, wait open), then the fault is injected and the results released: the
 * sandbox sends their signed webhooks to the API, 10 a second, and retries any that is not
 * answered 2xx within 5 s on its compressed Sumsub schedule (0.5 s, 6 s, 30 s, 108 s).
 * Phase 1: the worker stopped (SIGTERM) for the whole delivery and 10 s after; phase 2:
 * Temporal paused (SIGSTOP) for 25 s from the release; phase 3: the API killed (SIGKILL) until
 * 3 s after the sandbox's first send of its last result, and restarted, so that the sandbox's first sends are refused and its retries deliver. Counted from the sandbox's own log of
 * attempts, Postgres (kyc_checks, the inbox, kyc_status) and Temporal histories: every result
 * accepted once, applied once, nothing lost.
 */
export const kycResultsUnderFaults: Scenario = {
  id: 'h',
  name: 'KYC results delivered while the worker is stopped, Temporal is paused and the API is down',
  extraLimitMs: { quick: 8 * 60_000, full: 15 * 60_000 },
  async run({ stack, quick, log }) {
    const mode = quick ? 'quick' : 'full';
    const n = SIZE[mode];
    const op = await createOperator(stack.pool, { name: 'faults-h', mode: 'live', withTemplate: true });
    const conn = await postJson(`${stack.apiUrl}${P}/providers/connections`, op.apiKey, {
      provider: 'sandbox',
    });
    if (conn.status !== 201)
      throw new Error(`creating the connection: ${conn.status} ${JSON.stringify(conn.body)}`);
    const settings = await sendJson('PUT', `${stack.apiUrl}${P}/workflows`, op.apiKey, {
      definitions: Object.fromEntries(OFF.map((d) => [d, { enabled: false }])),
    });
    if (settings.status !== 200)
      throw new Error(`PUT /workflows: ${settings.status} ${JSON.stringify(settings.body)}`);
    const all = [...players('kh_worker', n), ...players('kh_temporal', n), ...players('kh_api', n)];
    const created = await postJson(
      `${stack.apiUrl}${P}/batch/entities`,
      op.apiKey,
      all.map((externalId) => ({
        entityType: 'player',
        externalId,
        data: { email: `${externalId}@example.com`, country: 'GB', currency: 'GBP' },
      })),
      { timeoutMs: 120_000 },
    );
    if (created.status !== 200) throw new Error(`creating players: ${created.status}`);
    const before = (await sandboxDeliveries(stack)).attempts.length;

    // Phase 1: the worker stopped while the results arrive.
    const p1 = await setUp(stack, op, players('kh_worker', n), log);
    const stopped = await stack.worker.signal('SIGTERM');
    const workerDownAt = Date.now();
    log(`worker stopped (${JSON.stringify(stopped.status)} in ${stopped.ms} ms); releasing ${n} results`);
    const released1 = await release(stack);
    await waitFor(
      async () => (await deliveredFor(stack, op.operatorId, p1)).done,
      180_000,
      'phase 1 results delivered',
    );
    log(
      `phase 1: every result answered 2xx with the worker down; keeping it down ${WORKER_DOWN_AFTER_MS / 1000} s more`,
    );
    await sleep(WORKER_DOWN_AFTER_MS);
    const queuedWhileDown = await approvedCount(stack, op.operatorId, 'kh_worker');
    await stack.worker.start();
    const workerUpAt = Date.now();
    log(`worker started again after ${((workerUpAt - workerDownAt) / 1000).toFixed(1)} s`);
    const phase1: Phase = {
      name: 'worker stopped',
      ids: p1.ids,
      deposits: p1.deposits,
      releasedAt: released1,
      faultFrom: workerDownAt,
      faultTo: workerUpAt,
      allApproved: await waitFor(
        async () => (await approvedCount(stack, op.operatorId, 'kh_worker')) === n,
        300_000,
        'phase 1 approved',
      ),
      note: `kyc_status approved while the worker was down: ${queuedWhileDown} (expected 0: only the worker writes it)`,
    };
    phase1.lastApprovedAt = await lastApprovedAt(stack, op.operatorId, 'kh_worker');

    // Phase 2: Temporal frozen while the results arrive.
    const p2 = await setUp(stack, op, players('kh_temporal', n), log);
    stack.pauseTemporal();
    const pausedAt = Date.now();
    log(`temporal paused (SIGSTOP); releasing ${n} results`);
    const released2 = await release(stack);
    let probeAnswered = true;
    let deliveredDuringPause = 0;
    try {
      await sleep(2000);
      probeAnswered = await stack.temporal
        .withDeadline(Date.now() + 2000, () => stack.temporal.workflowService.getSystemInfo({}))
        .then(
          () => true,
          () => false,
        );
      await sleep(Math.max(0, pausedAt + PAUSE_MS - Date.now()));
      deliveredDuringPause = (await deliveredFor(stack, op.operatorId, p2)).ok2xx;
    } finally {
      stack.resumeTemporal();
    }
    const resumedAt = Date.now();
    log(
      `temporal resumed after ${((resumedAt - pausedAt) / 1000).toFixed(1)} s; ${deliveredDuringPause} results answered 2xx meanwhile`,
    );
    const delivered2 = await waitFor(
      async () => (await deliveredFor(stack, op.operatorId, p2)).done,
      300_000,
      'phase 2 results delivered',
    );
    const phase2: Phase = {
      name: 'Temporal paused',
      ids: p2.ids,
      deposits: p2.deposits,
      releasedAt: released2,
      faultFrom: pausedAt,
      faultTo: resumedAt,
      allApproved:
        delivered2 &&
        (await waitFor(
          async () => (await approvedCount(stack, op.operatorId, 'kh_temporal')) === n,
          300_000,
          'phase 2 approved',
        )),
      note: `probe of Temporal during the pause: ${probeAnswered ? 'answered' : 'no answer within 2 s'}; results answered 2xx during the pause: ${deliveredDuringPause}`,
    };
    phase2.lastApprovedAt = await lastApprovedAt(stack, op.operatorId, 'kh_temporal');

    // Phase 3 (beyond the two faults asked for: it makes the provider's retries happen): the API
    // down while the results arrive, so the sandbox's sends are refused and its schedule resends.
    const p3 = await setUp(stack, op, players('kh_api', n), log);
    const killed = await stack.api.signal('SIGKILL');
    const apiDownAt = Date.now();
    log(`api killed (${JSON.stringify(killed.status)}); releasing ${n} results`);
    const released3 = await release(stack);
    await sleep(n * GAP_MS + API_DOWN_AFTER_SENDS_MS);
    await stack.api.start();
    const apiUpAt = Date.now();
    log(`api started again after ${((apiUpAt - apiDownAt) / 1000).toFixed(1)} s`);
    const delivered3 = await waitFor(
      async () => (await deliveredFor(stack, op.operatorId, p3)).done,
      300_000,
      'phase 3 results delivered',
    );
    const phase3: Phase = {
      name: 'API down',
      ids: p3.ids,
      deposits: p3.deposits,
      releasedAt: released3,
      faultFrom: apiDownAt,
      faultTo: apiUpAt,
      allApproved:
        delivered3 &&
        (await waitFor(
          async () => (await approvedCount(stack, op.operatorId, 'kh_api')) === n,
          300_000,
          'phase 3 approved',
        )),
      note: 'every first send refused (no API); delivered by the sandbox’s retries',
    };
    phase3.lastApprovedAt = await lastApprovedAt(stack, op.operatorId, 'kh_api');
    await putDeliveryMode(stack, { hold: false, gapMs: 0 });

    // Counting.
    const depositOutcomes = [...phase1.deposits, ...phase2.deposits, ...phase3.deposits];
    const tally = await verifyRun(stack.pool, stack.temporal, op.operatorId, depositOutcomes, 300_000, log);
    await waitFor(
      async () =>
        (
          await stack.temporal.workflow.count(
            `OperatorId = '${op.operatorId}' AND ExecutionStatus = 'Running'`,
          )
        ).count === 0,
      300_000,
      'every workflow closed',
    );
    const attempts = (await sandboxDeliveries(stack)).attempts.slice(before);
    return report({
      stack,
      operatorId: op.operatorId,
      n,
      mode,
      phases: [phase1, phase2, phase3],
      tally,
      attempts,
      probeAnswered,
      deliveredDuringPause,
      stoppedMs: stopped.ms,
    });
  },
};

/** Holds the sandbox's results, records one first deposit per player, and waits until all wait. */
async function setUp(
  stack: FaultStack,
  op: { operatorId: string; apiKey: string },
  ids: string[],
  log: (m: string) => void,
): Promise<{ ids: string[]; deposits: Outcome[] }> {
  await putDeliveryMode(stack, { hold: true, delayMs: 0, twice: false, outOfOrder: false, gapMs: GAP_MS });
  const deposits = await Promise.all(
    ids.map((p) =>
      postJson(`${stack.apiUrl}${P}/entities/${p}/events`, op.apiKey, {
        eventType: 'transaction',
        data: { type: 'deposit', amount: 50, currency: 'GBP', method: 'card' },
      }),
    ),
  );
  const bad = deposits.filter((d) => d.status !== 201);
  if (bad.length) throw new Error(`deposits: ${countBy(bad)}`);
  const prefix = ids[0]!.replace(/_\d+$/, '_');
  const ok = await waitFor(
    async () => (await pendingWaiting(stack, op.operatorId, prefix)) === ids.length,
    300_000,
    `${ids.length} checks pending`,
  );
  if (!ok) throw new Error(`not every check of ${prefix}* was pending with its wait open within 5 min`);
  log(`${ids.length} checks of ${prefix}* pending, their waits open`);
  return { ids, deposits };
}

async function release(stack: FaultStack): Promise<number> {
  await putDeliveryMode(stack, { hold: false });
  return Date.now();
}

async function putDeliveryMode(stack: FaultStack, mode: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.sandboxUrl}/v2/sandbox/delivery`, {
    method: 'PUT',
    body: JSON.stringify(mode),
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`sandbox delivery mode: HTTP ${res.status}`);
}

async function sandboxDeliveries(
  stack: FaultStack,
): Promise<{ pending: number; attempts: SandboxAttempt[] }> {
  const res = await fetch(`${stack.sandboxUrl}/v2/deliveries`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as { pending: number; attempts: SandboxAttempt[] };
}

/** The phase's checks (kyc_checks of its players): how many of their webhooks the API answered 2xx. */
async function deliveredFor(
  stack: FaultStack,
  operatorId: string,
  phase: { ids: string[] },
): Promise<{ done: boolean; ok2xx: number }> {
  const checks = await checksOf(stack, operatorId, phase.ids);
  const { attempts } = await sandboxDeliveries(stack);
  const ok = new Set(
    attempts.filter((a) => checks.has(a.checkId) && a.status >= 200 && a.status < 300).map((a) => a.checkId),
  );
  return { done: ok.size === phase.ids.length, ok2xx: ok.size };
}

async function checksOf(stack: FaultStack, operatorId: string, ids: string[]): Promise<Set<string>> {
  const { rows } = await stack.pool.query<{ check_id: string }>(
    `select check_id from kyc_checks where operator_id = $1 and external_id = any($2::text[])`,
    [operatorId, ids],
  );
  return new Set(rows.map((r) => r.check_id));
}

async function pendingWaiting(stack: FaultStack, operatorId: string, prefix: string): Promise<number> {
  const { rows } = await stack.pool.query<{ n: number }>(
    `select count(*)::int as n from entity_states s
      where s.operator_id = $1 and s.state_key = 'kyc_status' and s.value->>'status' = 'pending'
        and s.external_id like $2 || '%'
        and exists (select 1 from entity_waits w where w.operator_id = s.operator_id and w.external_id = s.external_id)`,
    [operatorId, prefix],
  );
  return rows[0]!.n;
}

async function approvedCount(stack: FaultStack, operatorId: string, prefix: string): Promise<number> {
  const { rows } = await stack.pool.query<{ n: number }>(
    `select count(*)::int as n from entity_states
      where operator_id = $1 and state_key = 'kyc_status' and value->>'status' = 'approved' and external_id like $2 || '%'`,
    [operatorId, prefix],
  );
  return rows[0]!.n;
}

async function lastApprovedAt(
  stack: FaultStack,
  operatorId: string,
  prefix: string,
): Promise<number | undefined> {
  const { rows } = await stack.pool.query<{ at: Date | null }>(
    `select max(applied_at) as at from provider_webhook_inbox where operator_id = $1 and external_id like $2 || '%'`,
    [operatorId, prefix],
  );
  return rows[0]?.at?.getTime();
}

async function waitFor(fn: () => Promise<boolean>, timeoutMs: number, _what: string): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return true;
    await sleep(1000);
  }
  return fn();
}

interface Observed {
  stack: FaultStack;
  operatorId: string;
  n: number;
  mode: 'quick' | 'full';
  phases: Phase[];
  tally: Awaited<ReturnType<typeof verifyRun>>;
  attempts: SandboxAttempt[];
  probeAnswered: boolean;
  deliveredDuringPause: number;
  stoppedMs: number;
}

/** A sandbox attempt as the suite's answer counter reads it (status 0: refused, reset or over 5 s). */
const asOutcome = (a: SandboxAttempt): Outcome => ({
  at: 0,
  ms: 0,
  status: a.status,
  error: 'refused, reset or over 5 s',
});

async function report(o: Observed) {
  const { stack, operatorId, n } = o;
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const expectations: Expectation[] = [...noLossExpectations(o.tally)];
  const measurements: string[] = [
    `mode: ${o.mode}, ${n} checks per phase (${3 * n} in all); ${OFF.join(', ')} switched off for this operator (as in g)`,
  ];

  const { rows: inbox } = await stack.pool.query<{
    id: string;
    external_id: string | null;
    kyc_check_id: string | null;
    outcome: string;
    applied_at: Date | null;
    applied_by: string | null;
    superseded_at: Date | null;
    received_at: Date;
  }>(
    `select id, external_id, kyc_check_id, outcome, applied_at, applied_by, superseded_at, received_at
       from provider_webhook_inbox where operator_id = $1`,
    [operatorId],
  );
  const { rows: checks } = await stack.pool.query<{
    check_id: string;
    workflow_id: string;
    external_id: string;
  }>(`select check_id, workflow_id, external_id from kyc_checks where operator_id = $1`, [operatorId]);
  const checkIds = new Set(checks.map((c) => c.check_id));
  const attempts = o.attempts.filter((a) => checkIds.has(a.checkId));
  const byWebhook = new Map<string, SandboxAttempt[]>();
  for (const a of attempts) byWebhook.set(a.webhookId, [...(byWebhook.get(a.webhookId) ?? []), a]);
  const ok = (a: SandboxAttempt) => a.status >= 200 && a.status < 300;
  const undelivered = [...byWebhook.values()].filter((list) => !list.some(ok));
  const retried = [...byWebhook.values()].filter((list) => list.length > 1);
  const failedAttempts = attempts.filter((a) => !ok(a));

  for (const p of o.phases) {
    const phaseChecks = new Set(checks.filter((c) => p.ids.includes(c.external_id)).map((c) => c.check_id));
    const rows = inbox.filter((r) => r.kyc_check_id && phaseChecks.has(r.kyc_check_id));
    const pAttempts = attempts.filter((a) => phaseChecks.has(a.checkId));
    const lastAnswered = Math.max(...pAttempts.filter(ok).map((a) => Date.parse(a.at)));
    measurements.push(
      `${p.name}: ${n} results released ${s(p.releasedAt - p.faultFrom)} s into the fault (${s(p.faultTo - p.faultFrom)} s long); ` +
        `sandbox attempts ${pAttempts.length} (${countBy(pAttempts.map(asOutcome))}); ` +
        `last result answered 2xx ${s(lastAnswered - p.faultFrom)} s into the fault; ${rows.length} inbox rows; ` +
        `last result applied ${p.lastApprovedAt ? s(p.lastApprovedAt - p.faultTo) : 'n/a'} s after the fault ended; ${p.note}`,
    );
    if (p.name === 'API down') {
      const firstRefused = new Set(
        pAttempts.filter((a) => a.attempt === 1 && !ok(a)).map((a) => a.webhookId),
      );
      const laterOk = new Set(pAttempts.filter((a) => a.attempt > 1 && ok(a)).map((a) => a.webhookId));
      expectations.push(
        expect(
          'API down: the first send of every result failed and a retry on the sandbox’s schedule delivered it',
          firstRefused.size === n && [...firstRefused].every((w) => laterOk.has(w)),
          `${firstRefused.size}/${n} first sends failed, ${laterOk.size} delivered by a retry (attempt numbers: ${[
            ...new Set(pAttempts.filter(ok).map((a) => a.attempt)),
          ].join(', ')})`,
        ),
      );
    }
    expectations.push(
      expect(
        `${p.name}: every result applied, kyc_status approved for all ${n}`,
        p.allApproved,
        `${rows.filter((r) => r.applied_at).length}/${n} applied`,
      ),
    );
  }
  measurements.push(
    `sandbox: ${byWebhook.size} webhooks, ${attempts.length} attempts, ${retried.length} retried on its schedule, ${failedAttempts.length} attempts not 2xx (${countBy(failedAttempts.map(asOutcome)) || 'none'})`,
  );
  expectations.push(
    expect(
      'the provider saw 2xx for every result (at once, or on a retry its schedule made)',
      undelivered.length === 0 && byWebhook.size === 3 * n,
      `${byWebhook.size - undelivered.length}/${3 * n} webhooks answered 2xx, ${retried.length} after a retry`,
    ),
  );

  const accepted = inbox.filter((r) => r.outcome === 'accepted');
  const perCheck = new Map<string, number>();
  for (const r of accepted)
    perCheck.set(r.kyc_check_id ?? '?', (perCheck.get(r.kyc_check_id ?? '?') ?? 0) + 1);
  const applied = accepted.filter((r) => r.applied_at).length;
  const superseded = accepted.filter((r) => r.superseded_at).length;
  expectations.push(
    expect(
      'one kyc_checks row and one accepted inbox row per check, each applied, none superseded',
      checks.length === 3 * n &&
        inbox.length === 3 * n &&
        accepted.length === 3 * n &&
        [...perCheck.values()].every((c) => c === 1) &&
        applied === 3 * n &&
        superseded === 0,
      `${checks.length} checks, ${inbox.length} inbox rows (${accepted.length} accepted, ${applied} applied, ${superseded} superseded)`,
    ),
  );
  const { rows: approvedRows } = await stack.pool.query<{ n: number }>(
    `select count(*)::int as n from entity_states s
       join provider_webhook_inbox i on i.id = s.value->>'deliveryId' and i.operator_id = s.operator_id
      where s.operator_id = $1 and s.state_key = 'kyc_status' and s.value->>'status' = 'approved'
        and i.external_id = s.external_id`,
    [operatorId],
  );
  expectations.push(
    expect(
      'kyc_status approved for every player, naming its own inbox row',
      approvedRows[0]!.n === 3 * n,
      `${approvedRows[0]!.n}/${3 * n}`,
    ),
  );

  const resultWf = (id: string) => `provider.webhook.kyc.approved:${id}`;
  const deposits = await fetchKycHistories(
    stack.temporal,
    checks.map((c) => c.workflow_id),
    'kyc-on-deposit',
  );
  const results = await fetchKycHistories(
    stack.temporal,
    accepted.map((r) => resultWf(r.id)),
    'kyc-result',
  );
  const h = checkKycHistories(
    checks.map((c) => {
      const row = accepted.find((r) => r.kyc_check_id === c.check_id);
      return {
        checkId: c.check_id,
        deposit: deposits.get(c.workflow_id),
        result: row ? results.get(resultWf(row.id)) : undefined,
      };
    }),
    'approved',
  );
  measurements.push(
    `Temporal histories: ${deposits.size} deposit and ${results.size} kyc-result workflows; results applied by the waiting workflow ${h.byDeposit}, by kyc-result ${h.byResult}`,
  );
  const list = (xs: string[]) => (xs.length ? `${xs.length}: ${xs.slice(0, 3).join('; ')}` : 'none');
  expectations.push(
    expect(
      "each result applied exactly once across its two workflows (the deposit's and kyc-result's applyKycResult)",
      h.problems.appliedNotOnce.length === 0 && h.problems.applyRepeated.length === 0,
      `not once: ${list(h.problems.appliedNotOnce)}; applyKycResult scheduled twice in one workflow: ${list(h.problems.applyRepeated)}`,
    ),
    expect(
      'every deposit and kyc-result workflow completed, each kyc-on-deposit ended approved',
      h.problems.notCompleted.length === 0 && h.problems.wrongOutcome.length === 0,
      `not completed: ${list(h.problems.notCompleted)}; other outcome: ${list(h.problems.wrongOutcome)}`,
    ),
    expect(
      'no event key signalled twice to a waiting workflow',
      h.problems.signalRepeated.length === 0,
      list(h.problems.signalRepeated),
    ),
    expect(
      'Temporal was unresponsive during the pause, and results were accepted meanwhile',
      !o.probeAnswered && o.deliveredDuringPause > 0,
      `probe ${o.probeAnswered ? 'answered' : 'timed out'}, ${o.deliveredDuringPause} results answered 2xx`,
    ),
  );
  return {
    id: 'h',
    scenario: kycResultsUnderFaults.name,
    load: `${3 * n} first deposits (one KYC check each, ${n} per phase) at a sandbox connection; ${byWebhook.size} results by signed webhook, 10/s once released`,
    fault: `worker stopped (SIGTERM, exited in ${s(o.stoppedMs)} s) for ${s(o.phases[0]!.faultTo - o.phases[0]!.faultFrom)} s, then Temporal paused (SIGSTOP) for ${s(o.phases[1]!.faultTo - o.phases[1]!.faultFrom)} s, then the API killed (SIGKILL) for ${s(o.phases[2]!.faultTo - o.phases[2]!.faultFrom)} s; results released at the start of each`,
    tally: o.tally,
    measurements,
    expectations,
  };
}
