import http from 'node:http';
import { API_PREFIX as P } from '../../api/openapi';
import { postJson, sessionEvent } from '../load';
import { newRunOperator, players } from '../operator';
import { countBy, expect, noLossExpectations, sleep, type Expectation, type Scenario } from '../scenario';
import type { FaultStack } from '../stack';
import { verifyRun } from '../verify';
import { postSlowDeposits, providerEffects, waitForCalls, waitForKyc, waitForQuiet } from '../kyc-in-flight';

/** The API's own drain limit is 10 s (then it closes what is left); allow start-up slack. */
const API_EXIT_MS = 15_000;
/** The worker's shutdownGraceTime is 30 s. */
const WORKER_EXIT_MS = 35_000;

/**
 * e. SIGTERM. The worker gets SIGTERM with KYC calls in flight: it must exit 0 within its grace
 * time, and the restarted worker must finish those checks without a second provider-side check.
 * Then the API gets a burst of concurrent requests, each on its own connection, and
 * SIGTERM as soon as the first is answered: every request it took must still get its 201,
 * a request arriving afterwards must be refused, and the process must exit 0.
 */
export const sigterm: Scenario = {
  id: 'e',
  name: 'SIGTERM to the worker, then to the API',
  async run({ stack, quick, log }) {
    const burst = quick ? 150 : 300;
    const n = quick ? 4 : 8;
    const slow = players('slow_e', n);
    const op = await newRunOperator(stack.pool, stack.apiUrl, 'e', [...players('pe', 20), ...slow]);

    // The worker first: the API burst leaves it hundreds of workflows to work through.
    await waitForQuiet(stack, 120_000);
    const { ids: deposits, outcomes: depositAnswers } = await postSlowDeposits(stack, op.apiKey, slow);
    const inFlight = await waitForCalls(stack, slow, 90_000);
    const worker = await stack.worker.signal('SIGTERM');
    log(
      `worker exited ${JSON.stringify(worker.status)} in ${worker.ms} ms with ${inFlight} KYC calls in flight at SIGTERM`,
    );
    await stack.worker.start();
    const kycDone = await waitForKyc(stack, op.operatorId, deposits, 240_000);
    const effects = await providerEffects(stack, deposits);

    const api = await drainApi(stack, op.apiKey, players('pe', 20), burst, log);
    await stack.api.start();

    const tally = await verifyRun(
      stack.pool,
      stack.temporal,
      op.operatorId,
      [...api.outcomes, ...depositAnswers],
      120_000,
      log,
    );
    return {
      id: 'e',
      scenario: this.name,
      load: `${burst} concurrent requests (keep-alive, one connection each) + ${n} slow KYC deposits`,
      fault: `SIGTERM to the worker with ${inFlight} KYC calls in flight; to the API after its first answer to a burst`,
      tally,
      measurements: [
        `API: ${api.summary}`,
        `worker: exit code ${worker.status.code} (signal ${worker.status.signal}) after ${worker.ms} ms; KYC ${effects.checks} checks for ${n} deposits, ${effects.calls} calls; recorded ${kycDone}/${n}`,
      ],
      expectations: [
        ...noLossExpectations(tally),
        ...api.expectations,
        expect(
          'nothing stored without a 201',
          tally.stored === tally.acknowledged,
          `${tally.stored} stored, ${tally.acknowledged} acknowledged`,
        ),
        expect(
          `the worker exits 0 within ${WORKER_EXIT_MS / 1000} s`,
          worker.status.code === 0 && worker.ms < WORKER_EXIT_MS,
          `code ${worker.status.code}, ${worker.ms} ms`,
        ),
        expect('KYC calls were in flight at the worker’s SIGTERM', inFlight > 0, `${inFlight}/${n}`),
        expect(
          'each deposit got exactly one KYC check, and its outcome was recorded',
          effects.notOnce.length === 0 && effects.checks === n && kycDone === n,
          `${effects.checks} checks, ${kycDone} recorded, for ${n} deposits`,
        ),
      ],
    };
  },
};

async function drainApi(
  stack: FaultStack,
  apiKey: string,
  who: string[],
  burst: number,
  log: (m: string) => void,
) {
  const url = (i: number) => `${stack.apiUrl}${P}/entities/${who[i % who.length]}/events`;
  // Keep-alive connections, as real clients use: a connection busy at SIGTERM must not hold
  // the drain open after its answer.
  const agent = new http.Agent({ keepAlive: true, maxSockets: burst });
  const sent = Array.from({ length: burst }, (_, i) => postJson(url(i), apiKey, sessionEvent(i), { agent }));
  await Promise.race(sent);
  const termAt = Date.now();
  let exited = false;
  const exit = stack.api.signal('SIGTERM').finally(() => {
    exited = true;
  });
  // Probes on new connections until the process is gone: when does it stop taking requests?
  // Fired every 100 ms without waiting for answers, so each probe shows the state at its send time.
  const sentProbes = [];
  while (!exited) {
    sentProbes.push(postJson(url(0), apiKey, sessionEvent(-1), { agent: false, timeoutMs: 15_000 }));
    await sleep(100);
  }
  const probes = await Promise.all(sentProbes);
  const outcomes = await Promise.all(sent);
  agent.destroy();
  const { status, ms } = await exit;
  log(`api exited ${JSON.stringify(status)} in ${ms} ms`);

  const answered = outcomes.filter((o) => o.status !== 0);
  const finishedAfter = answered.filter((o) => o.at + o.ms > termAt && o.status === 201);
  const notOk = answered.filter((o) => o.status !== 201);
  const firstRefused = probes.find((p) => p.status === 0);
  const lastFinished = Math.max(...finishedAfter.map((o) => o.at + o.ms));
  const refusedAfterMs = firstRefused ? firstRefused.at - termAt : NaN;
  const probesTaken = probes.filter((p) => p.status !== 0);
  const expectations: Expectation[] = [
    expect(
      'requests in flight at SIGTERM get their 201',
      finishedAfter.length > 0 && notOk.length === 0,
      `${finishedAfter.length} answered 201 after SIGTERM; other answers: ${countBy(notOk) || 'none'}`,
    ),
    expect(
      'new connections are refused while in-flight requests are still finishing',
      firstRefused !== undefined &&
        firstRefused.at < lastFinished &&
        probesTaken.every((p) => p.status === 201),
      `first refusal ${refusedAfterMs} ms after SIGTERM (${firstRefused?.error}), last in-flight 201 at ${lastFinished - termAt} ms; ${probesTaken.length} probes taken before`,
    ),
    expect(
      `the API exits 0 within ${API_EXIT_MS / 1000} s`,
      status.code === 0 && ms < API_EXIT_MS,
      `code ${status.code}, ${ms} ms`,
    ),
  ];
  const summary =
    `burst ${countBy(outcomes)}, ${finishedAfter.length} of them answered after SIGTERM (the last at ${lastFinished - termAt} ms); ` +
    `new connections refused from ${refusedAfterMs} ms after SIGTERM (${probesTaken.length} earlier probes answered ${countBy(probesTaken) || '-'}); ` +
    `exit code ${status.code} after ${ms} ms`;
  return { outcomes: [...outcomes, ...probes], expectations, summary };
}
