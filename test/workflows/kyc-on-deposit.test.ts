import * as SA from '../../workflows/search-attributes';
import type { FanoutResult } from '../../workflows/types';
import { P } from '../support/http';
import { newPlayer } from '../support/operators';
import {
  definitionResult,
  listWorkflowIds,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  verifyStandardWebhook,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

describe('kyc-on-deposit', () => {
  let h: WorkflowHarness;
  let op: Awaited<ReturnType<typeof operatorWithWebhook>>;

  beforeAll(async () => {
    h = await startWorkflowHarness({ kyc: { slowMs: 3000 }, config: { KYC_DEPOSIT_THRESHOLD: '1000' } });
    op = await operatorWithWebhook(h, [], { mode: 'test' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const deposit = async (externalId: string, amount: number) => {
    const ev = await recordEvent(op.client, externalId, 'transaction', {
      type: 'deposit',
      amount,
      currency: 'GBP',
    });
    return { ...ev, result: await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit') };
  };
  const callsFor = (applicantId: string) => h.kyc.calls.filter((c) => c.applicantId === applicantId);
  const checksFor = (applicantId: string) => h.kyc.checks.filter((c) => c.applicantId === applicantId);
  const kycStatus = async (externalId: string) =>
    (await op.client.get(`${P}/entities/${externalId}/state/kyc_status`)).body.data?.value;
  const kycAlerts = (externalId: string) =>
    h.receiver.requests.filter(
      (r) => r.body.type.startsWith('alert.kyc') && r.body.data.externalId === externalId,
    );

  it('checks a first deposit once, keyed by the workflow ID, and writes kyc_status approved (no workflow for the state write: nothing wants it)', async () => {
    await newPlayer(op.client, 'approve_1');
    const first = await deposit('approve_1', 50);

    expect(first.result).toMatchObject({ checked: true, reason: 'first_deposit', status: 'approved' });
    expect(callsFor('approve_1')).toEqual([
      expect.objectContaining({ idempotencyKey: first.fanoutId, status: 201 }),
    ]);
    const check = checksFor('approve_1')[0]!;
    expect(await kycStatus('approve_1')).toEqual({
      status: 'approved',
      checkId: check.id,
      checkedAt: check.createdAt,
      eventId: first.id,
    });
    expect(kycAlerts('approve_1')).toHaveLength(0);
    // The deposit's own workflow is the only one: its plan, and nothing else for this player.
    await listWorkflowIds(h.stack, `WorkflowId = '${first.fanoutId}'`);
    expect(
      await listWorkflowIds(h.stack, `OperatorId = '${op.operatorId}' AND EntityExternalId = 'approve_1'`),
    ).toEqual([first.fanoutId]);
    const description = await h.stack.temporal.workflow.getHandle(first.fanoutId).describe();
    expect(description.type).toBe('processEvent');
    expect(description.typedSearchAttributes.get(SA.Definitions)).toEqual([
      'kyc-on-deposit',
      'aml-threshold',
      'affordability-check',
      'source-of-funds',
    ]);
  });

  it("starts the state write's workflow from the activity when the operator subscribes to it", async () => {
    const subscribed = await operatorWithWebhook(h, ['entity_state.updated.kyc_status'], { mode: 'test' });
    await newPlayer(subscribed.client, 'approve_sub');
    const ev = await recordEvent(subscribed.client, 'approve_sub', 'transaction', {
      type: 'deposit',
      amount: 50,
      currency: 'GBP',
    });
    expect(await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit')).toMatchObject({
      status: 'approved',
    });
    const [stateWorkflow, ...more] = await listWorkflowIds(
      h.stack,
      `WorkflowType = 'processEvent' AND OperatorId = '${subscribed.operatorId}' AND InternalEvent = 'entity_state.updated.kyc_status'`,
    );
    expect(more).toEqual([]);
    expect(stateWorkflow).toMatch(/^entity_state\.updated\.kyc_status:ien_[0-9a-f]{16}$/);
    expect(await definitionResult(h.stack, stateWorkflow!, 'operator-webhook')).toMatchObject({
      forwarded: true,
    });
    const { rows } = await h.stack.db.pool.query(`select 1 from fanout_outbox where workflow_id = $1`, [
      stateWorkflow,
    ]);
    expect(rows).toHaveLength(0);
  });

  it('skips later deposits below KYC_DEPOSIT_THRESHOLD and checks one at the threshold', async () => {
    await newPlayer(op.client, 'approve_2');
    await deposit('approve_2', 10);
    const small = await deposit('approve_2', 999.99);
    expect(small.result).toEqual({ checked: false, reason: 'below_threshold' });
    expect(callsFor('approve_2')).toHaveLength(1);

    const large = await deposit('approve_2', 1000);
    expect(large.result).toMatchObject({
      checked: true,
      reason: 'amount_at_or_over_threshold',
      status: 'approved',
    });
    expect(callsFor('approve_2')).toHaveLength(2);
  });

  it('does not run for withdrawals', async () => {
    await newPlayer(op.client, 'approve_3');
    const ev = await recordEvent(op.client, 'approve_3', 'transaction', {
      type: 'withdrawal',
      amount: 5000,
      currency: 'GBP',
    });
    const fanout = await waitForResult<FanoutResult>(h.stack, ev.fanoutId);
    expect(fanout.runs.map((r) => r.definition)).not.toContain('kyc-on-deposit');
    expect(callsFor('approve_3')).toHaveLength(0);
  });

  it('retries a provider that answers 503 twice: three calls with one Idempotency-Key, exactly one check created', async () => {
    await newPlayer(op.client, 'flaky_1');
    const d = await deposit('flaky_1', 20);

    expect(d.result).toMatchObject({ checked: true, status: 'approved' });
    expect(callsFor('flaky_1').map((c) => c.status)).toEqual([503, 503, 201]);
    expect(new Set(callsFor('flaky_1').map((c) => c.idempotencyKey))).toEqual(new Set([d.fanoutId]));
    expect(checksFor('flaky_1')).toHaveLength(1);
    expect(await kycStatus('flaky_1')).toMatchObject({
      status: 'approved',
      checkId: checksFor('flaky_1')[0]!.id,
    });
  });

  it('times out a slow provider and retries with the same key: the retry gets the check the first call created', async () => {
    await newPlayer(op.client, 'slow_1');
    const d = await deposit('slow_1', 20);

    expect(d.result).toMatchObject({ checked: true, status: 'approved' });
    expect(callsFor('slow_1')).toHaveLength(2);
    expect(checksFor('slow_1')).toHaveLength(1);
    expect(await kycStatus('slow_1')).toMatchObject({ checkId: checksFor('slow_1')[0]!.id });
  });

  it('honours Retry-After on 429 before calling again', async () => {
    await newPlayer(op.client, 'ratelimited_1');
    const d = await deposit('ratelimited_1', 20);

    expect(d.result).toMatchObject({ checked: true, status: 'approved' });
    const [first, second] = callsFor('ratelimited_1');
    expect([first?.status, second?.status]).toEqual([429, 201]);
    expect(second!.at.getTime() - first!.at.getTime()).toBeGreaterThanOrEqual(900);
    expect(checksFor('ratelimited_1')).toHaveLength(1);
  });

  it('writes kyc_status rejected after one call and sends a signed alert.kyc_rejected', async () => {
    await newPlayer(op.client, 'reject_1');
    const d = await deposit('reject_1', 20);

    expect(d.result).toMatchObject({
      checked: true,
      status: 'rejected',
      alertMessageId: `${d.fanoutId}/kyc-on-deposit/alert`,
    });
    expect(callsFor('reject_1')).toHaveLength(1);
    expect(await kycStatus('reject_1')).toMatchObject({ status: 'rejected' });

    const [alert] = await h.receiver.waitFor(
      (r) => r.body.type === 'alert.kyc_rejected' && r.body.data.externalId === 'reject_1',
    );
    expect(verifyStandardWebhook(op.webhookSecret, alert!)).toBe(true);
    expect(alert!.headers['webhook-id']).toBe(`${d.fanoutId}/kyc-on-deposit/alert`);
    expect(alert!.body.data).toMatchObject({
      severity: 'critical',
      eventId: d.id,
      internalEvent: 'entity_event.transaction',
      details: { checkId: checksFor('reject_1')[0]!.id, status: 'rejected' },
    });
  });

  it('sends alert.kyc_review for a check that needs review', async () => {
    await newPlayer(op.client, 'review_1');
    const d = await deposit('review_1', 20);
    expect(d.result).toMatchObject({ checked: true, status: 'review' });
    const [alert] = await h.receiver.waitFor(
      (r) => r.body.type === 'alert.kyc_review' && r.body.data.externalId === 'review_1',
    );
    expect(verifyStandardWebhook(op.webhookSecret, alert!)).toBe(true);
    expect(alert!.body.data.severity).toBe('warning');
  });

  it('fails without retrying when the provider refuses the request (422 → KycRequestRejected), and the fan-out still completes', async () => {
    await newPlayer(op.client, 'invalid_1');
    const ev = await recordEvent(op.client, 'invalid_1', 'transaction', {
      type: 'deposit',
      amount: 20,
      currency: 'GBP',
    });

    const fanout = await waitForResult<FanoutResult>(h.stack, ev.fanoutId);
    expect(fanout.runs).toContainEqual(
      expect.objectContaining({
        definition: 'kyc-on-deposit',
        status: 'failed',
        errorType: 'KycRequestRejected',
      }),
    );
    expect(fanout.runs.filter((r) => r.status === 'completed').map((r) => r.definition)).toEqual([
      'aml-threshold',
      'affordability-check',
      'source-of-funds',
    ]);
    expect(
      await listWorkflowIds(
        h.stack,
        `FailedDefinitions = 'kyc-on-deposit' AND OperatorId = '${op.operatorId}'`,
      ),
    ).toEqual([ev.fanoutId]);
    expect(callsFor('invalid_1')).toHaveLength(1);
    expect((await op.client.get(`${P}/entities/invalid_1/state/kyc_status`)).status).toBe(404);
  });
});
