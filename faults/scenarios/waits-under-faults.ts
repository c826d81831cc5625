import { API_PREFIX as P } from '../../api/openapi';
import { createOperator } from '../../core/admin/operators';
import { eventWorkflowId } from '../../core/ids';
import type { WaitEvent } from '../../workflows/types';
import { postJson, sendJson, type Outcome } from '../load';
import { players } from '../operator';
import { answeredAt, sendPaced, type Attempted } from '../retrying-client';
import { countBy, expect, noLossExpectations, sleep, type Scenario } from '../scenario';
import type { FaultStack } from '../stack';
import { verifyRun } from '../verify';
import { readWaitHistories, type WaitHistory } from '../wait-histories';

const SIZE = { quick: 300, full: 10_000 };
/** How long the verdicts take (their rate follows from the size): long enough to span the kill and the 25 s pause. */
const VERDICT_SECONDS = { quick: 40, full: 100 };
const CLIENTS = 16;
const PAUSE_MS = 25_000;
/** Waiting for N waits to open, and then for all of them to resolve. */
const SETUP_TIMEOUT_MS = { quick: 6 * 60_000, full: 45 * 60_000 };
const RESOLVE_TIMEOUT_MS = { quick: 5 * 60_000, full: 25 * 60_000 };
/**
 * Off for this operator: the scenario is about waits, and each of these adds activities (a KYC
 * call for every first deposit) that multiply the worker's work before a single wait opens.
 */
const OFF = ['kyc-on-deposit', 'aml-threshold', 'affordability-check'];
const DEFINITION = 'source-of-funds';
const VERDICT_EVENT = 'entity_state.updated.sof_status';
const isVerdict = (e: WaitEvent) => e.internalEvent === VERDICT_EVENT && e.data.value === 'verified';

/**
 * g. N open waits (source-of-funds at threshold 1: one deposit per player asks, then waits for
 * the operator's verdict), each satisfied by a `PUT …/state/sof_status {"value":"verified"}`
 * posted through the API at a steady rate, while the API is killed (SIGKILL) and restarted and
 * Temporal is frozen (SIGSTOP) for 25 s. Clients retry a request that got no answer. Counted
 * from Temporal histories and Postgres: every wait resolves once, by signal or by lookback,
 * with the verdict; no event key is signalled twice; waits, signals and outbox end empty.
 */
export const waitsUnderFaults: Scenario = {
  id: 'g',
  name: 'Open waits satisfied through an API SIGKILL and a Temporal pause',
  extraLimitMs: { quick: 12 * 60_000, full: 75 * 60_000 },
  async run({ stack, quick, log, waits }) {
    const mode = quick ? 'quick' : 'full';
    const n = waits ?? SIZE[mode];
    const ids = players('pg', n);

    // Setup: players, settings, one deposit each; then until every wait is open.
    const setupStarted = Date.now();
    const op = await createOperator(stack.pool, { name: 'faults-g', mode: 'live', withTemplate: true });
    await createPlayers(stack, op.apiKey, ids);
    const settings = await sendJson('PUT', `${stack.apiUrl}${P}/workflows`, op.apiKey, {
      definitions: Object.fromEntries(OFF.map((d) => [d, { enabled: false }])),
      parameters: {
        sourceOfFundsThreshold: 1,
        // Long enough that no wait can time out in the run; the reminder is past it (never runs).
        sourceOfFundsDeadline: '7d',
        sourceOfFundsReminder: '8d',
      },
    });
    if (settings.status !== 200)
      throw new Error(`PUT /workflows: ${settings.status} ${JSON.stringify(settings.body)}`);
    const deposits = await sendPaced({
      items: ids,
      concurrency: CLIENTS,
      rate: Infinity,
      retryForMs: 60_000,
      send: (p, agent) =>
        postJson(
          `${stack.apiUrl}${P}/entities/${p}/events`,
          op.apiKey,
          {
            eventType: 'transaction',
            data: { type: 'deposit', amount: 10, currency: 'GBP', method: 'card' },
          },
          { agent },
        ),
    });
    const depositOutcomes = deposits.results.flatMap((r) => r.attempts);
    const depositIds = deposits.results.flatMap((r) => (r.final?.eventId ? [r.final.eventId] : []));
    log(
      `${depositIds.length}/${n} deposits recorded in ${deposits.seconds.toFixed(0)} s; waiting for ${n} open waits`,
    );
    const opened = await waitForCount(
      () => countRows(stack, 'entity_waits', op.operatorId),
      (c) => c >= n,
      SETUP_TIMEOUT_MS[mode],
      (c, s) => log(`  ${c}/${n} waits open after ${s.toFixed(0)} s`),
    );
    const setupSeconds = (Date.now() - setupStarted) / 1000;
    log(`${opened.count} waits open; setup took ${setupSeconds.toFixed(0)} s`);

    // The verdicts, with the faults injected while they are being posted.
    const verdictSeconds = VERDICT_SECONDS[mode];
    const killAfterMs = Math.round(verdictSeconds * 125); // 1/8 of the way
    const pauseAfterMs = Math.round(verdictSeconds * 250); // 1/4 of the way
    const verdicts = sendPaced({
      items: ids,
      concurrency: CLIENTS,
      rate: n / verdictSeconds,
      retryForMs: 120_000,
      send: (p, agent) =>
        sendJson(
          'PUT',
          `${stack.apiUrl}${P}/entities/${p}/state/sof_status`,
          op.apiKey,
          { value: 'verified' },
          { agent },
        ),
    });
    const verdictsStarted = Date.now();
    await sleep(killAfterMs);
    const killedAt = Date.now();
    const { status } = await stack.api.signal('SIGKILL');
    log(`api killed (${status.signal}); restarting`);
    await stack.api.start();
    const upAt = Date.now();
    await sleep(Math.max(0, verdictsStarted + pauseAfterMs - Date.now()));
    const pause = await pauseTemporal(stack, log);
    const { results, seconds } = await verdicts;
    const lastVerdictAt = Math.max(...results.flatMap((r) => (r.final ? [answeredAt(r.final)] : [])));
    log(
      `verdicts: ${results.filter((r) => r.final?.status === 200).length}/${n} answered 200 in ${seconds.toFixed(0)} s`,
    );

    // Until every wait is resolved and nothing is queued.
    const resolveStarted = Date.now();
    const drained = await waitForCount(
      async () =>
        (await countRows(stack, 'entity_waits', op.operatorId)) +
        (await countRows(stack, 'wait_signals', op.operatorId)),
      (c) => c === 0,
      RESOLVE_TIMEOUT_MS[mode],
      (c, s) => log(`  ${c} waits and queued signals left after ${s.toFixed(0)} s`),
    );
    const tally = await verifyRun(stack.pool, stack.temporal, op.operatorId, depositOutcomes, 300_000, log);
    const leftWaits = await countRows(stack, 'entity_waits', op.operatorId);
    const leftSignals = await countRows(stack, 'wait_signals', op.operatorId);
    log(`reading ${depositIds.length} histories`);
    const histories = await readWaitHistories(
      stack.temporal,
      depositIds.map((id) => eventWorkflowId('transaction', id)),
      DEFINITION,
      isVerdict,
    );
    const verified = await countVerified(stack, op.operatorId);
    return report({
      n,
      mode,
      depositIds,
      depositOutcomes,
      setupSeconds,
      opened: opened.count,
      results,
      seconds,
      killedAt,
      upAt,
      pause,
      verdictsStarted,
      lastVerdictAt,
      drainedIn: (Date.now() - resolveStarted) / 1000,
      drained: drained.ok,
      tally,
      leftWaits,
      leftSignals,
      histories,
      verified,
    });
  },
};

async function createPlayers(stack: FaultStack, apiKey: string, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) {
    const items = ids.slice(i, i + 1000).map((externalId) => ({
      entityType: 'player',
      externalId,
      data: { email: `${externalId}@example.com`, country: 'GB', currency: 'GBP' },
    }));
    const res = await postJson(`${stack.apiUrl}${P}/batch/entities`, apiKey, items, { timeoutMs: 120_000 });
    const failed = (res.body as { data?: { failed?: number } } | undefined)?.data?.failed;
    if (res.status !== 200 || failed !== 0)
      throw new Error(`creating players: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

async function countRows(stack: FaultStack, table: 'entity_waits' | 'wait_signals', operatorId: string) {
  const { rows } = await stack.pool.query<{ n: number }>(
    `select count(*)::int as n from ${table} where operator_id = $1`,
    [operatorId],
  );
  return rows[0]?.n ?? 0;
}

async function countVerified(stack: FaultStack, operatorId: string): Promise<number> {
  const { rows } = await stack.pool.query<{ n: number }>(
    `select count(*)::int as n from entity_states
      where operator_id = $1 and state_key = 'sof_status' and value = '"verified"'::jsonb`,
    [operatorId],
  );
  return rows[0]?.n ?? 0;
}

/** Polls `read` until `done`, logging progress every 15 s; answers the last count and whether it got there. */
async function waitForCount(
  read: () => Promise<number>,
  done: (c: number) => boolean,
  timeoutMs: number,
  progress: (c: number, seconds: number) => void,
): Promise<{ count: number; ok: boolean }> {
  const started = Date.now();
  let lastLog = started;
  for (;;) {
    const count = await read();
    if (done(count)) return { count, ok: true };
    if (Date.now() - started > timeoutMs) return { count, ok: false };
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      progress(count, (Date.now() - started) / 1000);
    }
    await sleep(1000);
  }
}

/**
 * Freezes Temporal for PAUSE_MS. A probe with a 2 s deadline during the pause shows it was
 * really unresponsive (a stop would refuse connections; a pause leaves calls hanging).
 */
async function pauseTemporal(stack: FaultStack, log: (m: string) => void) {
  const from = Date.now();
  stack.pauseTemporal();
  log(`temporal paused (SIGSTOP) for ${PAUSE_MS / 1000} s`);
  let probeAnswered = true;
  try {
    await sleep(2000);
    probeAnswered = await stack.temporal
      .withDeadline(Date.now() + 2000, () => stack.temporal.workflowService.getSystemInfo({}))
      .then(
        () => true,
        () => false,
      );
    await sleep(Math.max(0, from + PAUSE_MS - Date.now()));
  } finally {
    stack.resumeTemporal();
  }
  const to = Date.now();
  log(`temporal resumed (SIGCONT) after ${((to - from) / 1000).toFixed(1)} s`);
  return { from, to, probeAnswered };
}

interface Observed {
  n: number;
  mode: 'quick' | 'full';
  depositIds: string[];
  depositOutcomes: Outcome[];
  setupSeconds: number;
  opened: number;
  results: Attempted[];
  seconds: number;
  killedAt: number;
  upAt: number;
  pause: { from: number; to: number; probeAnswered: boolean };
  verdictsStarted: number;
  lastVerdictAt: number;
  drainedIn: number;
  drained: boolean;
  tally: Awaited<ReturnType<typeof verifyRun>>;
  leftWaits: number;
  leftSignals: number;
  histories: WaitHistory[];
  verified: number;
}

function report(o: Observed) {
  const h = o.histories;
  const attempts = o.results.flatMap((r) => r.attempts);
  const answered = o.results.filter((r) => r.final?.status === 200).length;
  const retried = o.results.filter((r) => r.attempts.length > 1);
  // Answered by the restarted API: sent after the kill. (upAt, when the suite's health poll saw
  // the API back, comes later than the first retry it answered.)
  const retriedAfterRestart = retried.filter((r) => r.final?.status === 200 && r.final.at >= o.killedAt);
  const errors = attempts.filter((a) => a.status >= 400);
  const duringPause = o.results.filter(
    (r) =>
      r.final?.status === 200 && answeredAt(r.final) >= o.pause.from && answeredAt(r.final) <= o.pause.to,
  ).length;

  const notCompleted = h.filter((x) => x.status !== 'COMPLETED');
  const notVerified = h.filter(
    (x) =>
      x.run?.status !== 'completed' ||
      x.run.result?.requested !== true ||
      x.run.result?.status !== 'verified',
  );
  const repeatedKeys = h.flatMap((x) =>
    [...x.signalsPerKey].filter(([, c]) => c > 1).map(([k, c]) => `${x.workflowId} ${k} ×${c}`),
  );
  const notOnce = h.filter((x) => x.openWaits !== 1 || x.closeWaits !== 1);
  const bySignal = h.filter((x) => x.bySignal.size > 0 && x.byLookback.size === 0).length;
  const byLookback = h.filter((x) => x.byLookback.size > 0 && x.bySignal.size === 0).length;
  const byBoth = h.filter((x) => x.byLookback.size > 0 && x.bySignal.size > 0).length;
  const unseen = h.filter((x) => x.byLookback.size === 0 && x.bySignal.size === 0);
  const twoVerdicts = h.filter((x) => new Set([...x.bySignal, ...x.byLookback]).size > 1).length;
  const lastResolved = Math.max(...h.flatMap((x) => (x.resolvedAt ? [x.resolvedAt] : [])));
  const sample = (xs: WaitHistory[]) =>
    xs
      .slice(0, 3)
      .map((x) => `${x.workflowId} ${x.status} ${JSON.stringify(x.run)}`)
      .join('; ');
  const s = (ms: number) => (ms / 1000).toFixed(1);

  return {
    id: 'g',
    scenario: waitsUnderFaults.name,
    load: `${o.n} players, one deposit each (${o.opened} waits open; setup ${o.setupSeconds.toFixed(0)} s); ${o.n} verdicts (PUT sof_status) from ${CLIENTS} clients, ${(o.n / o.seconds).toFixed(0)}/s for ${o.seconds.toFixed(0)} s`,
    fault: `SIGKILL to the API ${s(o.killedAt - o.verdictsStarted)} s into the verdicts, restarted (down ${s(o.upAt - o.killedAt)} s); Temporal paused (SIGSTOP) for ${s(o.pause.to - o.pause.from)} s from ${s(o.pause.from - o.verdictsStarted)} s`,
    tally: o.tally,
    measurements: [
      `mode: ${o.mode}, ${o.n} waits${o.n !== SIZE[o.mode] ? ` (--waits; the mode's size is ${SIZE[o.mode]})` : ''}; ${OFF.join(', ')} switched off for this operator (see Notes)`,
      `setup: ${o.n} players (batch), ${o.depositIds.length} deposits (single POSTs), ${o.opened} waits open after ${o.setupSeconds.toFixed(0)} s`,
      `verdict attempts: ${countBy(attempts)}; ${retried.length} verdicts retried, ${retriedAfterRestart.length} of them answered after the restart`,
      `verdicts answered 200 while Temporal was paused: ${duringPause}; probe of Temporal during the pause: ${o.pause.probeAnswered ? 'answered' : 'no answer within 2 s'}`,
      `waits resolved by signal: ${bySignal}, by lookback (no verdict signal in history): ${byLookback}, seen both ways (one copy kept): ${byBoth}; workflows that saw two verdict events (a retried PUT whose first attempt committed): ${twoVerdicts}`,
      `last verdict answered → last wait resolved (closeWait ran): ${s(lastResolved - o.lastVerdictAt)} s; Temporal resumed → last wait resolved: ${s(lastResolved - o.pause.to)} s`,
      `waits and queued signals drained ${o.drainedIn.toFixed(1)} s after the last verdict answer`,
    ],
    expectations: [
      ...noLossExpectations(o.tally),
      expect('every player had an open wait before the verdicts', o.opened === o.n, `${o.opened}/${o.n}`),
      expect('every verdict was answered 200', answered === o.n, `${answered}/${o.n}`),
      expect(
        'no HTTP error answers (only cut connections while the API was down)',
        errors.length === 0,
        countBy(errors) || 'none',
      ),
      expect(
        'verdicts that got no answer were retried and answered 200 by the restarted API',
        retried.length > 0 && retriedAfterRestart.length === retried.length,
        `${retriedAfterRestart.length}/${retried.length}`,
      ),
      expect(
        'Temporal was unresponsive during the pause, and verdicts were recorded meanwhile',
        !o.pause.probeAnswered && duringPause > 0,
        `probe ${o.pause.probeAnswered ? 'answered' : 'timed out'}, ${duringPause} × 200`,
      ),
      expect(
        'every deposit workflow completed',
        notCompleted.length === 0 && h.length === o.depositIds.length,
        `${h.length - notCompleted.length}/${o.depositIds.length} completed${notCompleted.length ? `; ${sample(notCompleted)}` : ''}`,
      ),
      expect(
        `every ${DEFINITION} ended { status: 'verified' } (none timed out, failed or cancelled)`,
        notVerified.length === 0,
        `${h.length - notVerified.length}/${h.length}${notVerified.length ? `; ${sample(notVerified)}` : ''}`,
      ),
      expect(
        'no event key signalled twice to a workflow',
        repeatedKeys.length === 0,
        repeatedKeys.slice(0, 3).join('; ') || 'none',
      ),
      expect(
        'each wait opened once and resolved once (one openWait, one closeWait)',
        notOnce.length === 0,
        notOnce.length
          ? notOnce
              .slice(0, 3)
              .map((x) => `${x.workflowId}: ${x.openWaits}/${x.closeWaits}`)
              .join('; ')
          : `${h.length}/${h.length}`,
      ),
      expect(
        'each wait saw its verdict (by signal or lookback)',
        unseen.length === 0,
        unseen.length ? `${unseen.length} saw none: ${sample(unseen)}` : `${h.length}/${h.length}`,
      ),
      expect('every player ends sof_status = verified', o.verified === o.n, `${o.verified}/${o.n}`),
      expect(
        'entity_waits and wait_signals end empty',
        o.drained && o.leftWaits === 0 && o.leftSignals === 0,
        `${o.leftWaits} waits, ${o.leftSignals} signals left`,
      ),
    ],
  };
}
