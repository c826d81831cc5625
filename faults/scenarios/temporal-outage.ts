import { type Outcome, percentile, startSteadyLoad, STEADY_CONCURRENCY } from '../load';
import { newRunOperator, players } from '../operator';
import { countBy, describeLoad, expect, noLossExpectations, sleep, type Scenario } from '../scenario';
import { verifyRun } from '../verify';

const p99 = (os: Outcome[]) =>
  percentile(
    os.map((o) => o.ms),
    99,
  );

/**
 * b. Temporal stops mid-load and comes back on the same database file and port. Recording
 * must not notice (it never waits on Temporal); afterwards the outbox backlog drains and
 * each event still has exactly one workflow.
 */
export const temporalOutage: Scenario = {
  id: 'b',
  name: 'Temporal stopped, then restarted',
  async run({ stack, quick, log }) {
    const before = quick ? 5_000 : 15_000;
    const outage = quick ? 15_000 : 60_000;
    const op = await newRunOperator(stack.pool, stack.apiUrl, 'b', players('pb', 20));
    const load = startSteadyLoad(stack.apiUrl, op, quick);
    await sleep(before);
    const downAt = Date.now();
    await stack.stopTemporal();
    log(`temporal stopped; down for ${outage / 1000} s`);
    await sleep(Math.max(0, outage - (Date.now() - downAt)));
    await stack.startTemporal();
    const upAt = Date.now();
    log(`temporal back after ${((upAt - downAt) / 1000).toFixed(1)} s`);
    await sleep(before);
    const { outcomes, seconds } = await load.stop();
    const workerAlive = stack.worker.isRunning();
    if (!workerAlive) {
      log(`worker exited during the outage:\n${stack.worker.recentOutput().slice(-10).join('\n')}`);
      await stack.worker.start();
    }

    const pre = outcomes.filter((o) => o.at < downAt);
    const during = outcomes.filter((o) => o.at >= downAt && o.at < upAt);
    const failedDuring = during.filter((o) => o.status !== 201);
    const tally = await verifyRun(stack.pool, stack.temporal, op.operatorId, outcomes, 240_000, log);
    return {
      id: 'b',
      scenario: this.name,
      load: describeLoad(STEADY_CONCURRENCY, outcomes, seconds),
      fault: `Temporal dev server stopped for ${((upAt - downAt) / 1000).toFixed(0)} s, restarted on the same SQLite file and port`,
      tally,
      measurements: [
        `p99 latency before: ${p99(pre)} ms (${pre.length} requests); during the outage: ${p99(during)} ms (${during.length} requests)`,
        `answers during the outage: ${countBy(during)}`,
        `backlog drained ${tally.drainSeconds.toFixed(1)} s after the load stopped`,
        `worker survived the outage: ${workerAlive ? 'yes' : 'no (restarted by the suite)'}`,
      ],
      expectations: [
        ...noLossExpectations(tally),
        expect(
          'recording answers 201 throughout the outage',
          during.length > 0 && failedDuring.length === 0,
          `${during.length - failedDuring.length}/${during.length} × 201`,
        ),
        expect(
          'the worker survives a Temporal outage',
          workerAlive,
          workerAlive ? 'still running' : 'exited',
        ),
      ],
    };
  },
};
