import { providerSignatureHeaders } from '../../core/security/provider-signatures';
import { P } from '../support/http';
import { newPlayer } from '../support/operators';
import {
  definitionResult,
  eventually,
  listWorkflowIds,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(90_000);

/**
 * The KYC flow as providers run it (issue 22, items 3 and 6): the operator's own `sandbox`
 * connection answers pending, and the harness's sandbox delivers the result later by a signed
 * webhook to this stack's API, which records it in the inbox and writes
 * `provider.webhook.kyc.<result>`; the deposit's workflow waits for it.
 */
describe('kyc-on-deposit with a provider connection', () => {
  let h: WorkflowHarness;
  let op: Awaited<ReturnType<typeof connectedOperator>>;

  async function connectedOperator(parameters: Record<string, unknown> = {}) {
    const o = await operatorWithWebhook(h);
    const conn = await o.client.post(`${P}/providers/connections`, { provider: 'sandbox' });
    expect(conn.status).toBe(201);
    if (Object.keys(parameters).length > 0) {
      const res = await o.client.put(`${P}/workflows`, { parameters });
      expect(res.status).toBe(200);
    }
    return {
      ...o,
      connectionId: conn.body.data.id as string,
      providerSecret: conn.body.data.webhookSecret as string,
    };
  }

  beforeAll(async () => {
    h = await startWorkflowHarness({
      kyc: { delivery: { delayMs: 2000, reverseAfterMs: 1500 } },
      config: { KYC_DEPOSIT_THRESHOLD: '1000' },
    });
    op = await connectedOperator();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.kyc.webhooks.mode = { delayMs: 2000, twice: false, outOfOrder: false, reverseAfterMs: 1500 };
  });

  type Op = typeof op;
  const deposit = async (o: Op, externalId: string) => {
    await newPlayer(o.client, externalId);
    return recordEvent(o.client, externalId, 'transaction', { type: 'deposit', amount: 50, currency: 'GBP' });
  };
  const kycStatus = async (o: Op, externalId: string) =>
    (await o.client.get(`${P}/entities/${externalId}/state/kyc_status`)).body.data?.value;
  const kycAlerts = (externalId: string) =>
    h.receiver.requests
      .filter((r) => r.body.type.startsWith('alert.kyc') && r.body.data.externalId === externalId)
      .map((r) => ({ type: r.body.type as string, severity: r.body.data.severity as string }));
  const inbox = async (o: Op) => {
    const { rows } = await h.stack.db.pool.query(
      `select id, result, outcome, ignored_reason, external_id, applied_at, applied_by, superseded_at,
              provider_timestamp
         from provider_webhook_inbox where operator_id = $1 order by provider_timestamp, id`,
      [o.operatorId],
    );
    return rows;
  };
  const inboxOf = async (o: Op, externalId: string) =>
    (await inbox(o)).filter((r) => r.external_id === externalId);
  const resultWorkflows = (o: Op, externalId: string, atLeast: number) =>
    listWorkflowIds(
      h.stack,
      `OperatorId = '${o.operatorId}' AND EntityExternalId = '${externalId}' AND InternalEvent STARTS_WITH 'provider.webhook.kyc.'`,
      atLeast,
    );

  it('sets kyc_status pending, then approved by a signed webhook, in one workflow that waited (its history has the signal)', async () => {
    const ev = await deposit(op, 'approve_w1');
    const pending = await eventually(async () => {
      const v = await kycStatus(op, 'approve_w1');
      return v?.status === 'pending' ? v : undefined;
    });
    expect(pending).toMatchObject({ status: 'pending', provider: 'sandbox', eventId: ev.id });
    const check = h.kyc.checks.find((c) => c.applicantId === 'approve_w1')!;
    expect(pending.checkId).toBe(check.id);

    const result = await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit');
    expect(result).toMatchObject({ checked: true, status: 'approved', checkId: check.id });
    const status = await kycStatus(op, 'approve_w1');
    expect(status).toMatchObject({ status: 'approved', checkId: check.id, provider: 'sandbox' });
    // The webhook arrived signed and was accepted once; its result was applied once, by the
    // waiting workflow or by kyc-result (the event's own workflow), whichever came first.
    const rows = await inboxOf(op, 'approve_w1');
    expect(rows).toHaveLength(1);
    const [resultWf] = await resultWorkflows(op, 'approve_w1', 1);
    expect(resultWf).toBe(`provider.webhook.kyc.approved:${rows[0].id}`);
    const byResult = await definitionResult(h.stack, resultWf!, 'kyc-result');
    expect(rows[0]).toMatchObject({ result: 'approved', outcome: 'accepted' });
    expect(rows[0].applied_by).toBe(result.applied ? ev.fanoutId : resultWf);
    expect([result.applied, byResult.applied].filter(Boolean)).toHaveLength(1);
    expect(status.deliveryId).toBe(rows[0].id);
    const history = await h.stack.temporal.workflow.getHandle(ev.fanoutId).fetchHistory();
    const signals = (history.events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'waitEvent',
    );
    expect(signals).toHaveLength(1);
    expect(kycAlerts('approve_w1')).toEqual([]);
  });

  it.each([
    ['reject_w1', 'rejected', 'alert.kyc_rejected', 'critical'],
    ['review_w1', 'review', 'alert.kyc_review', 'warning'],
  ])('writes %s’s result %s and alerts once (%s, %s)', async (externalId, status, alert, severity) => {
    const ev = await deposit(op, externalId);
    const result = await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit');
    expect(result).toMatchObject({ status });
    expect(await kycStatus(op, externalId)).toMatchObject({ status });
    const [resultWf] = await resultWorkflows(op, externalId, 1);
    const byResult = await definitionResult(h.stack, resultWf!, 'kyc-result');
    // Applied once, by one of the two; that one alerted.
    expect([result.applied, byResult.applied].filter(Boolean)).toHaveLength(1);
    await eventually(async () => (kycAlerts(externalId).length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1000));
    expect(kycAlerts(externalId)).toEqual([{ type: alert, severity }]);
  });

  it('at the deadline (10s) sets overdue and alerts critical; the late result still updates kyc_status and alerts', async () => {
    const late = await connectedOperator({ kycResultDeadline: '10s' });
    h.kyc.webhooks.mode = { ...h.kyc.webhooks.mode, delayMs: 16_000 };
    const ev = await deposit(late, 'reject_late');
    const result = await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit');
    expect(result).toMatchObject({ checked: true, status: 'overdue', deadlineAt: expect.any(String) });
    expect(await kycStatus(late, 'reject_late')).toMatchObject({ status: 'overdue' });
    expect(kycAlerts('reject_late')).toEqual([{ type: 'alert.kyc_overdue', severity: 'critical' }]);

    const [resultWf] = await resultWorkflows(late, 'reject_late', 1);
    expect(await definitionResult(h.stack, resultWf!, 'kyc-result')).toMatchObject({
      applied: true,
      previous: 'overdue',
      result: 'rejected',
    });
    expect(await kycStatus(late, 'reject_late')).toMatchObject({ status: 'rejected' });
    await eventually(async () => (kycAlerts('reject_late').length > 1 ? true : undefined));
    expect(kycAlerts('reject_late')).toEqual([
      { type: 'alert.kyc_overdue', severity: 'critical' },
      { type: 'alert.kyc_rejected', severity: 'critical' },
    ]);
  });

  it('applies a result delivered twice and out of order once: the newer stands, the older is superseded', async () => {
    h.kyc.webhooks.mode = { ...h.kyc.webhooks.mode, twice: true, outOfOrder: true };
    const recorded = await deposit(op, 'reverse_ooo');
    const ev = { ...recorded, checkId: '' };
    await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit');
    const wfs = await resultWorkflows(op, 'reverse_ooo', 2);
    for (const id of wfs) await definitionResult(h.stack, id, 'kyc-result');
    ev.checkId = h.kyc.checks.find((c) => c.applicantId === 'reverse_ooo')!.id;
    // Each result recorded once although sent twice.
    const rows = await inboxOf(op, 'reverse_ooo');
    expect(rows.map((r) => r.result)).toEqual(['approved', 'rejected']);
    const [older, newer] = rows;
    expect(older.superseded_at).not.toBeNull();
    expect(older.applied_at).toBeNull();
    expect(newer.applied_at).not.toBeNull();
    expect(newer.superseded_at).toBeNull();
    expect(await kycStatus(op, 'reverse_ooo')).toMatchObject({ status: 'rejected', deliveryId: newer.id });
    // The sandbox did send each twice, the rejection first.
    const sent = h.kyc.webhooks.attempts.filter((a) => a.status === 200 && a.checkId === ev.checkId);
    expect(sent.map((a) => a.result)).toEqual(['rejected', 'rejected', 'approved', 'approved']);
    // Rejected straight from pending: a rejection, not a reversal (the approval never stood).
    await eventually(async () => (kycAlerts('reverse_ooo').length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1000));
    expect(kycAlerts('reverse_ooo')).toEqual([{ type: 'alert.kyc_rejected', severity: 'critical' }]);
  });

  it('raises kyc_reversal (critical) when an approval is later rejected', async () => {
    const ev = await deposit(op, 'reverse_w1');
    expect(await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit')).toMatchObject({
      status: 'approved',
    });
    const wfs = await resultWorkflows(op, 'reverse_w1', 2);
    const results = await Promise.all(wfs.map((id) => definitionResult(h.stack, id, 'kyc-result')));
    expect(results).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ applied: true, reversal: true, result: 'rejected' }),
      ]),
    );
    expect(await kycStatus(op, 'reverse_w1')).toMatchObject({ status: 'rejected' });
    await eventually(async () => (kycAlerts('reverse_w1').length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1000));
    expect(kycAlerts('reverse_w1')).toEqual([{ type: 'alert.kyc_reversal', severity: 'critical' }]);
  });

  it('alerts kyc_not_configured (warning) for a live operator without a connection, and writes no kyc_status', async () => {
    const live = await operatorWithWebhook(h);
    await newPlayer(live.client, 'approve_live');
    const ev = await recordEvent(live.client, 'approve_live', 'transaction', {
      type: 'deposit',
      amount: 50,
      currency: 'GBP',
    });
    expect(await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit')).toMatchObject({
      checked: false,
      reason: 'not_configured',
    });
    await eventually(async () => (kycAlerts('approve_live').length > 0 ? true : undefined));
    expect(kycAlerts('approve_live')).toEqual([{ type: 'alert.kyc_not_configured', severity: 'warning' }]);
    expect((await live.client.get(`${P}/entities/approve_live/state/kyc_status`)).status).toBe(404);
    expect(h.kyc.calls.filter((c) => c.applicantId === 'approve_live')).toEqual([]);
  });

  it('stores a signed result for a check it never created as ignored (unknown_check), with no event', async () => {
    const body = JSON.stringify({
      id: 'evt_unknown0001',
      type: 'check.completed',
      checkId: 'chk_never_created',
      applicantId: 'nobody',
      result: 'approved',
      createdAt: new Date().toISOString(),
    });
    const res = await fetch(`${h.stack.baseUrl}${P}/providers/sandbox/webhooks/${op.connectionId}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...providerSignatureHeaders('sandbox', op.providerSecret, body),
      },
      body,
    });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { data: { deliveryId: string; outcome: string } };
    expect(answer.data.outcome).toBe('ignored');
    const { rows } = await h.stack.db.pool.query(
      `select outcome, ignored_reason, external_id from provider_webhook_inbox where id = $1`,
      [answer.data.deliveryId],
    );
    expect(rows).toEqual([{ outcome: 'ignored', ignored_reason: 'unknown_check', external_id: null }]);
    const { rows: queued } = await h.stack.db.pool.query(
      `select 1 from fanout_outbox where workflow_id like $1`,
      [`%:${answer.data.deliveryId}`],
    );
    expect(queued).toEqual([]);
    expect(
      await listWorkflowIds(
        h.stack,
        `WorkflowId = 'provider.webhook.kyc.approved:${answer.data.deliveryId}'`,
        0,
      ),
    ).toEqual([]);
  });
});
