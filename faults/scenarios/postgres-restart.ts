import { type Outcome, startSteadyLoad, STEADY_CONCURRENCY } from '../load';
import { newRunOperator, players } from '../operator';
import { countBy, describeLoad, expect, noLossExpectations, sleep, type Scenario } from '../scenario';
import { verifyRun } from '../verify';

/** Fail fast: the pool's connect timeout is 3 s; nothing should take longer than that plus slack. */
const MAX_FAILURE_MS = 5_000;
/** Words that would reveal internals in an error answer. */
const INTERNALS = /postgres|pg_|ECONN|sql|stack|terminat|at \w+ \(|\.ts:|node_modules/i;

/** A 503 exactly as documented: the envelope with code and message, and nothing else. */
function isCleanUnavailable(o: Outcome): boolean {
  const body = o.body as { success?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
  if (o.status !== 503 || body?.success !== false || body.error?.code !== 'SERVICE_UNAVAILABLE') return false;
  const keys = Object.keys(body).sort().join() + '|' + Object.keys(body.error).sort().join();
  return keys === 'error,success|code,message' && !INTERNALS.test(JSON.stringify(body));
}

/**
 * c. Postgres goes away mid-load (fast shutdown: open transactions are rolled back) and comes
 * back on the same data and port. While it is down every request must fail fast with the
 * 503 envelope; afterwards the same API process must record again by itself.
 */
export const postgresRestart: Scenario = {
  id: 'c',
  name: 'Postgres restarted',
  async run({ stack, quick, log }) {
    const phase = quick ? 5_000 : 15_000;
    const down = quick ? 5_000 : 10_000;
    const op = await newRunOperator(stack.pool, stack.apiUrl, 'c', players('pc', 20));
    const apiPid = stack.api.pid;
    const load = startSteadyLoad(stack.apiUrl, op, quick);
    await sleep(phase);
    const downAt = Date.now();
    await stack.stopPostgres();
    log(`postgres stopped; down for ${down / 1000} s`);
    await sleep(down);
    await stack.startPostgres();
    const upAt = Date.now();
    log(`postgres back after ${((upAt - downAt) / 1000).toFixed(1)} s`);
    await sleep(phase);
    const { outcomes, seconds } = await load.stop();

    const during = outcomes.filter((o) => o.at >= downAt && o.at < upAt);
    const failures = outcomes.filter((o) => o.status !== 201);
    const unclean = failures.filter((o) => !isCleanUnavailable(o));
    const slowest = Math.max(0, ...failures.map((o) => o.ms));
    const firstOk = outcomes.filter((o) => o.status === 201 && o.at >= upAt).sort((x, y) => x.at - y.at)[0];
    const recoverMs = firstOk ? firstOk.at + firstOk.ms - upAt : NaN;
    const samePid = stack.api.pid === apiPid && stack.api.isRunning();
    const tally = await verifyRun(stack.pool, stack.temporal, op.operatorId, outcomes, 120_000, log);
    return {
      id: 'c',
      scenario: this.name,
      load: describeLoad(STEADY_CONCURRENCY, outcomes, seconds),
      fault: `Postgres stopped (fast shutdown) for ${((upAt - downAt) / 1000).toFixed(0)} s, restarted on the same data`,
      tally,
      measurements: [
        `answers while it was down: ${countBy(during)}`,
        `non-201 answers overall: ${countBy(failures) || 'none'}; slowest ${slowest} ms`,
        `first 201 ${Number.isNaN(recoverMs) ? 'never' : `${recoverMs} ms`} after Postgres accepted connections again, same API process (pid ${apiPid})`,
      ],
      expectations: [
        ...noLossExpectations(tally),
        expect(
          'every failure is a clean 503 SERVICE_UNAVAILABLE envelope',
          failures.length > 0 && unclean.length === 0,
          `${failures.length} failures, ${unclean.length} not clean${unclean[0] ? `: ${unclean[0].status} ${JSON.stringify(unclean[0].body ?? unclean[0].error)}` : ''}`,
        ),
        expect(
          `failures are fast (< ${MAX_FAILURE_MS} ms)`,
          slowest < MAX_FAILURE_MS,
          `slowest ${slowest} ms`,
        ),
        expect(
          'the API recovers by itself',
          samePid && recoverMs < 15_000,
          `${recoverMs} ms, same process: ${samePid}`,
        ),
      ],
    };
  },
};
