import { Worker } from '@temporalio/worker';
import { WORKFLOW_BUNDLE } from '../support/env';
import { P } from '../support/http';
import { newPlayer } from '../support/operators';
import {
  eventually,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

/**
 * A wait whose cancelling event was recorded before its deadline but whose signal had not come
 * when the deadline fired (the API died after the commit and no relay ran yet): the close's late
 * lookback finds the event and the definition is cancelled, not timed out. The fan-out status
 * must say so while the workflow runs on with another wait, as it does for a signalled cancel.
 * Here the test is the relay: nothing leaves the outbox unless it sweeps.
 */
describe('a cancellation found by the late lookback', () => {
  let h: WorkflowHarness;

  beforeAll(async () => {
    h = await startWorkflowHarness({
      kyc: { delivery: { hold: true } },
      config: { KYC_DEPOSIT_THRESHOLD: '1000' },
      relay: false,
      immediateStarts: false,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reads cancelled, with the event that cancelled it, while the KYC wait of the same workflow goes on', async () => {
    const o = await operatorWithWebhook(h);
    expect((await o.client.post(`${P}/providers/connections`, { provider: 'sandbox' })).status).toBe(201);
    const settings = await o.client.put(`${P}/workflows`, {
      parameters: { sourceOfFundsThreshold: 100, sourceOfFundsDeadline: '10s' },
    });
    expect(settings.status).toBe(200);
    await newPlayer(o.client, 'late_cancel_1');
    const ev = await recordEvent(o.client, 'late_cancel_1', 'transaction', {
      type: 'deposit',
      amount: 150,
      currency: 'GBP',
    });
    // A recorded row falls due for the relay after the immediate start's grace.
    await eventually(async () => ((await h.stack.dispatcher.sweep()) > 0 ? true : undefined));
    type Definition = Record<string, any>;
    const statusOf = async () =>
      ((await o.client.get(`${P}/events/${ev.id}/fanout`)).body.data.outcomes?.definitions ??
        []) as Definition[];
    const of = (defs: Definition[], name: string) => defs.find((d) => d.definition === name);
    const waiting = await eventually(async () => {
      const defs = await statusOf();
      return of(defs, 'kyc-on-deposit')?.status === 'waiting' &&
        of(defs, 'source-of-funds')?.status === 'waiting'
        ? defs
        : undefined;
    });
    const deadline = Date.parse(of(waiting, 'source-of-funds')!.deadline);

    // Recorded, not relayed: its outbox row stays and no signal is queued for the wait.
    const exclusion = await recordEvent(o.client, 'late_cancel_1', 'block', { type: 'self_exclusion' });
    expect(Date.now()).toBeLessThan(deadline);
    // Between the close and the cancellation it writes next (milliseconds, one workflow task)
    // the definition reads as its history alone says; without the second write it stays so.
    const defs = await eventually(async () => {
      const d = await statusOf();
      return of(d, 'source-of-funds')?.status === 'cancelled' ? d : undefined;
    }, 30_000);
    expect(Date.now()).toBeGreaterThan(deadline);
    expect(of(defs, 'source-of-funds')).toMatchObject({
      status: 'cancelled',
      cancelledBy: { internalEvent: 'entity_event.block', eventId: exclusion.id },
    });
    expect(of(defs, 'kyc-on-deposit')).toMatchObject({ status: 'waiting' });
    expect((await h.stack.temporal.workflow.getHandle(ev.fanoutId).describe()).status.name).toBe('RUNNING');
    // The exclusion's signal never reached the deposit's workflow: the lookback alone found it.
    const { rows } = await h.stack.db.pool.query(
      `select 1 from fanout_outbox where operator_id = $1 and internal_event = 'entity_event.block'`,
      [o.operatorId],
    );
    expect(rows).toHaveLength(1);
    const history = await h.stack.temporal.workflow.getHandle(ev.fanoutId).fetchHistory();
    expect((history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes)).toEqual([]);
    // The path's extra close replays as it ran (the history is open: its commands so far).
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history, ev.fanoutId),
    ).resolves.toBeUndefined();
  });
});
