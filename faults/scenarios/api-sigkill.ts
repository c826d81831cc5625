import { startSteadyLoad, STEADY_CONCURRENCY } from '../load';
import { newRunOperator, players } from '../operator';
import { countBy, describeLoad, expect, noLossExpectations, sleep, type Scenario } from '../scenario';
import { verifyRun } from '../verify';

/**
 * a. The API dies with SIGKILL mid-load: requests in flight are cut, immediate workflow starts
 * in flight die with it. After a restart, every event it acknowledged must be in Postgres and
 * reach Temporal exactly once (the relay picks up outbox rows whose start died).
 */
export const apiSigkill: Scenario = {
  id: 'a',
  name: 'API killed (SIGKILL) and restarted',
  async run({ stack, quick, log }) {
    const phase = quick ? 5_000 : 15_000;
    const op = await newRunOperator(stack.pool, stack.apiUrl, 'a', players('pa', 20));
    const load = startSteadyLoad(stack.apiUrl, op, quick);
    await sleep(phase);
    const killedAt = Date.now();
    const { status } = await stack.api.signal('SIGKILL');
    log(`api killed (${status.signal}); restarting`);
    await stack.api.start();
    const upAt = Date.now();
    await sleep(phase);
    const { outcomes, seconds } = await load.stop();
    const afterRestart = outcomes.filter((o) => o.at >= upAt && o.status === 201).length;
    const tally = await verifyRun(stack.pool, stack.temporal, op.operatorId, outcomes, 120_000, log);
    const unexpected = outcomes.filter((o) => o.status !== 201 && o.status !== 0);
    return {
      id: 'a',
      scenario: this.name,
      load: describeLoad(STEADY_CONCURRENCY, outcomes, seconds),
      fault: `SIGKILL to the API after ${phase / 1000} s; restarted (down ${((upAt - killedAt) / 1000).toFixed(1)} s)`,
      tally,
      measurements: [
        `answers: ${countBy(outcomes)}`,
        `201s after the restart: ${afterRestart}`,
        `backlog drained ${tally.drainSeconds.toFixed(1)} s after the load stopped`,
      ],
      expectations: [
        ...noLossExpectations(tally),
        expect('the restarted API records again', afterRestart > 0, `${afterRestart} × 201 after restart`),
        expect(
          'no HTTP error answers (only cut connections while it was down)',
          unexpected.length === 0,
          countBy(unexpected) || 'none',
        ),
      ],
    };
  },
};
