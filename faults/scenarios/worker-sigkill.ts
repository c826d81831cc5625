import { upsertWebhookEndpoint } from '../../core/db/webhooks';
import { postSlowDeposits, providerEffects, waitForCalls, waitForKyc, waitForQuiet } from '../kyc-in-flight';
import { sessionEvent, startLoad } from '../load';
import { newRunOperator, players } from '../operator';
import { startWebhookReceiver } from '../provider';
import { countBy, describeLoad, expect, noLossExpectations, sleep, type Scenario } from '../scenario';
import { verifyRun } from '../verify';

const CONCURRENCY = 4;
/** Light: every event is two workflows, and the KYC activities must not queue behind them. */
const RATE = 3;

/**
 * d. The worker dies (SIGKILL) while KYC calls are in flight at the provider. Temporal retries
 * each activity on the restarted worker after its start-to-close timeout; the retry carries the
 * same Idempotency-Key (the workflow ID), so the provider creates each check once. The operator
 * webhook for each deposit carries one webhook-id however often it is delivered.
 */
export const workerSigkill: Scenario = {
  id: 'd',
  name: 'Worker killed (SIGKILL) mid-activity',
  async run({ stack, quick, log }) {
    const n = quick ? 4 : 8;
    const receiver = await startWebhookReceiver();
    try {
      const slow = players('slow_d', n);
      const op = await newRunOperator(stack.pool, stack.apiUrl, 'd', [...players('pd', 10), ...slow]);
      await upsertWebhookEndpoint(stack.pool, {
        operatorId: op.operatorId,
        url: receiver.url,
        eventFilter: ['entity_event.transaction'],
      });
      await waitForQuiet(stack, 120_000);
      const { ids: deposits, outcomes: depositAnswers } = await postSlowDeposits(stack, op.apiKey, slow);
      // The load runs through the fault window: from the deposits until the worker is back.
      const load = startLoad({
        apiUrl: stack.apiUrl,
        apiKey: op.apiKey,
        players: players('pd', 10),
        concurrency: CONCURRENCY,
        rate: RATE,
        event: sessionEvent,
      });
      const inFlight = await waitForCalls(stack, slow, 90_000);
      const { status } = await stack.worker.signal('SIGKILL');
      log(`worker killed (${status.signal}) with ${inFlight}/${n} KYC calls in flight; restarting`);
      await stack.worker.start();
      await sleep(5000);
      const { outcomes, seconds } = await load.stop();
      const kycDone = await waitForKyc(stack, op.operatorId, deposits, 240_000);
      const tally = await verifyRun(
        stack.pool,
        stack.temporal,
        op.operatorId,
        [...outcomes, ...depositAnswers],
        120_000,
        log,
      );
      const effects = await providerEffects(stack, deposits);
      await waitForDeliveries(receiver.deliveries, deposits, 30_000);
      const hooks = deposits.map((id) => {
        const ds = receiver.deliveries.filter((d) => d.eventId === id);
        return { deliveries: ds.length, ids: new Set(ds.map((d) => d.webhookId)).size };
      });
      return {
        id: 'd',
        scenario: this.name,
        load: `${n} first deposits of slow KYC applicants + ${describeLoad(CONCURRENCY, outcomes, seconds)} through the fault`,
        fault: `SIGKILL to the worker with ${inFlight} KYC calls in flight; restarted at once`,
        tally,
        measurements: [
          `answers: ${countBy(outcomes)}`,
          `KYC: ${effects.checks} checks created for ${n} deposits, ${effects.calls} calls (the retries replayed the same Idempotency-Key)`,
          `KYC status recorded for ${kycDone}/${n} deposits`,
          `webhooks: ${hooks.reduce((s, h) => s + h.deliveries, 0)} deliveries, ${hooks.reduce((s, h) => s + h.ids, 0)} distinct webhook-ids for ${n} deposits`,
        ],
        expectations: [
          ...noLossExpectations(tally),
          expect('KYC calls were in flight when the worker died', inFlight > 0, `${inFlight}/${n}`),
          expect(
            'each deposit got exactly one KYC check at the provider',
            effects.notOnce.length === 0 && effects.checks === n,
            `${effects.checks} checks for ${n} deposits`,
          ),
          expect(
            'the killed KYC activities were retried',
            effects.calls > effects.checks,
            `${effects.calls} calls for ${effects.checks} checks`,
          ),
          expect('every deposit’s KYC outcome was recorded', kycDone === n, `${kycDone}/${n}`),
          expect(
            'each deposit’s webhook arrived, under one webhook-id',
            hooks.every((h) => h.deliveries >= 1 && h.ids === 1),
            hooks.map((h) => `${h.deliveries}/${h.ids}`).join(' '),
          ),
        ],
      };
    } finally {
      await receiver.close();
    }
  },
};

async function waitForDeliveries(
  deliveries: Array<{ eventId?: string }>,
  eventIds: string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !eventIds.every((id) => deliveries.some((d) => d.eventId === id)))
    await sleep(500);
}
