import { recordKycCheck } from '../../core/db/kyc-checks';
import { providerSignatureHeaders } from '../../core/security/provider-signatures';
import { fakeApi } from '../support/fake-api';
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
  const listing = async (o: { client: Op['client'] }) =>
    (await o.client.get(`${P}/providers/deliveries?limit=100`)).body.data as any[];
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

  it('fan-out status: a definition a self-exclusion cancelled reads cancelled while the KYC wait of the same workflow goes on', async () => {
    // Two waits in one deposit's workflow: the KYC result (held back by the sandbox) and the
    // source-of-funds verdict (threshold 100). The self-exclusion cancels the second only.
    const o = await connectedOperator({ sourceOfFundsThreshold: 100, sourceOfFundsDeadline: '1h' });
    h.kyc.webhooks.mode = { ...h.kyc.webhooks.mode, hold: true };
    await newPlayer(o.client, 'kyc_cancel_1');
    const ev = await recordEvent(o.client, 'kyc_cancel_1', 'transaction', {
      type: 'deposit',
      amount: 150,
      currency: 'GBP',
    });
    const statusOf = async () =>
      ((await o.client.get(`${P}/events/${ev.id}/fanout`)).body.data.outcomes?.definitions ?? []) as Array<
        Record<string, any>
      >;
    const of = (defs: Array<Record<string, any>>, name: string) => defs.find((d) => d.definition === name);
    await eventually(async () => {
      const defs = await statusOf();
      return of(defs, 'kyc-on-deposit')?.status === 'waiting' &&
        of(defs, 'source-of-funds')?.status === 'waiting'
        ? true
        : undefined;
    });
    const exclusion = await recordEvent(o.client, 'kyc_cancel_1', 'block', { type: 'self_exclusion' });
    const defs = await eventually(async () => {
      const d = await statusOf();
      return of(d, 'source-of-funds')?.status === 'cancelled' ? d : undefined;
    });
    expect(of(defs, 'source-of-funds')).toMatchObject({
      status: 'cancelled',
      cancelledBy: { internalEvent: 'entity_event.block', eventId: exclusion.id },
    });
    expect(of(defs, 'kyc-on-deposit')).toMatchObject({ status: 'waiting' });
    expect(of(defs, 'aml-threshold')).toMatchObject({ status: 'completed' });
    expect((await h.stack.temporal.workflow.getHandle(ev.fanoutId).describe()).status.name).toBe('RUNNING');
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
    // Newest first, 3 s apart: the rejection stands before the approval arrives (sent at the
    // same moment, which of the two is applied first would be a race of two workflows).
    h.kyc.webhooks.mode = { ...h.kyc.webhooks.mode, twice: true, outOfOrder: true, gapMs: 3000 };
    const recorded = await deposit(op, 'reverse_ooo');
    const ev = { ...recorded, checkId: '' };
    await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit');
    // Both results in the inbox (the approval comes last, after the gaps).
    await eventually(
      async () => ((await inboxOf(op, 'reverse_ooo')).length === 2 ? true : undefined),
      60_000,
    );
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
    // The operator's inbox listing says what became of each.
    const listed = await listing(op);
    expect(listed.find((d) => d.id === older.id)).toMatchObject({
      result: 'approved',
      externalId: 'reverse_ooo',
      outcome: 'superseded',
      outcomeReason: 'older_than_standing',
      supersededBy: newer.id,
      appliedBy: null,
      outcomeAt: expect.any(String),
    });
    expect(listed.find((d) => d.id === newer.id)).toMatchObject({
      result: 'rejected',
      outcome: 'applied',
      outcomeReason: null,
      appliedBy: newer.applied_by,
      supersededBy: null,
      outcomeAt: expect.any(String),
    });
    // The sandbox did send each twice, the rejection first.
    const sent = await eventually(async () => {
      const ok = h.kyc.webhooks.attempts.filter((a) => a.status === 200 && a.checkId === ev.checkId);
      return ok.length >= 4 ? ok : undefined;
    });
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
    expect((await listing(op)).find((d) => d.id === answer.data.deliveryId)).toMatchObject({
      outcome: 'ignored',
      outcomeReason: 'unknown_check',
      externalId: null,
    });
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

  it("keeps a Sumsub RED's rejectLabels and reviewRejectType in its event, its alert and the inbox listing", async () => {
    const o = await operatorWithWebhook(h);
    const SECRET = 'flow-sumsub-webhook-secret';
    const conn = await o.client.post(`${P}/providers/connections`, {
      provider: 'sumsub',
      credentials: { appToken: 'sbx:flow', secretKey: 'flow-secret-key' },
      webhookSecret: SECRET,
    });
    expect(conn.status).toBe(201);
    await newPlayer(o.client, 'red_w1');
    await recordKycCheck(h.stack.db.pool, {
      operatorId: o.operatorId,
      provider: 'sumsub',
      checkId: 'sumsub-red-1',
      applicantId: 'red_w1',
      externalId: 'red_w1',
      workflowId: 'entity_event.transaction:eev_red1',
    });
    const body = JSON.stringify({
      applicantId: 'sumsub-red-1',
      inspectionId: 'insp-red-1',
      correlationId: 'req-red-1',
      externalUserId: 'red_w1',
      type: 'applicantReviewed',
      reviewResult: {
        reviewAnswer: 'RED',
        rejectLabels: ['FORGERY', 'SELFIE_MISMATCH'],
        reviewRejectType: 'FINAL',
      },
      reviewStatus: 'completed',
      createdAtMs: '2026-12-03 10:00:00.000',
    });
    const res = await fetch(h.stack.baseUrl + conn.body.data.webhookPath, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...providerSignatureHeaders('sumsub', SECRET, body) },
      body,
    });
    expect(res.status).toBe(200);
    const { deliveryId } = ((await res.json()) as { data: { deliveryId: string } }).data;
    const alert = await eventually(async () =>
      h.receiver.requests.find(
        (r) => r.body.type === 'alert.kyc_rejected' && r.body.data.externalId === 'red_w1',
      ),
    );
    expect(alert.body.data.summary).toBe(
      'KYC check sumsub-red-1 came back rejected (FINAL: FORGERY, SELFIE_MISMATCH)',
    );
    expect(alert.body.data.details).toMatchObject({
      checkId: 'sumsub-red-1',
      status: 'rejected',
      reviewRejectType: 'FINAL',
      rejectLabels: ['FORGERY', 'SELFIE_MISMATCH'],
    });
    expect((await o.client.get(`${P}/entities/red_w1/state/kyc_status`)).body.data.value).toMatchObject({
      status: 'rejected',
      deliveryId,
    });
    expect((await listing(o)).find((d) => d.id === deliveryId)).toMatchObject({
      outcome: 'applied',
      appliedBy: `provider.webhook.kyc.rejected:${deliveryId}`,
      resultDetails: { reviewRejectType: 'FINAL', rejectLabels: ['FORGERY', 'SELFIE_MISMATCH'] },
    });
  });

  it('Onfido: answers check.completed at once, reads the result back in the worker (GET /v3.6/checks/{id}, retried while Onfido answers 503), and the waiting deposit gets clear as approved and consider as review; a withdrawn check ends the read-back as ignored', async () => {
    const TOKEN = 'flow-onfido-webhook-token';
    const applicantOfCheck = new Map<string, string>();
    const readsOf = new Map<string, number>();
    const api = await fakeApi((r) => {
      if (r.headers.authorization !== 'Token token=api_sandbox.flow-onfido') return [401, {}];
      if (r.method === 'POST' && r.url === '/v3.6/applicants')
        return [201, { id: `applicant-${JSON.parse(r.body).last_name}` }];
      if (r.method === 'POST' && r.url === '/v3.6/checks') {
        const applicant = JSON.parse(r.body).applicant_id as string;
        const id = `check-${applicant.replace('applicant-', '')}`;
        applicantOfCheck.set(id, applicant);
        return [201, { id, status: 'in_progress', result: null }];
      }
      const read = /^\/v3\.6\/checks\/([^/]+)$/.exec(r.url);
      if (r.method === 'GET' && read && applicantOfCheck.has(read[1]!)) {
        // Onfido's API is down for the first read of each check: the webhook was answered
        // regardless, and the read is retried by Temporal.
        const attempt = (readsOf.get(read[1]!) ?? 0) + 1;
        readsOf.set(read[1]!, attempt);
        if (attempt === 1) return [503, { error: { type: 'service_unavailable' } }];
        // Withdrawn at Onfido after its completion was sent: a status with no result, ever.
        if (read[1]!.endsWith('withdrawn')) return [200, { id: read[1], status: 'withdrawn', result: null }];
        const result = read[1]!.endsWith('consider') ? 'consider' : 'clear';
        return [200, { id: read[1], status: 'complete', result }];
      }
      return [404, {}];
    });
    try {
      const o = await operatorWithWebhook(h);
      const conn = await o.client.post(`${P}/providers/connections`, {
        provider: 'onfido',
        credentials: { apiToken: 'api_sandbox.flow-onfido' },
        webhookSecret: TOKEN,
        baseUrl: api.url,
      });
      expect(conn.status).toBe(201);
      /** A deposit whose Onfido check is pending, then Onfido's signed check.completed for it. */
      const completeCheck = async (externalId: string) => {
        await newPlayer(o.client, externalId);
        const ev = await recordEvent(o.client, externalId, 'transaction', {
          type: 'deposit',
          amount: 50,
          currency: 'GBP',
        });
        const pending = await eventually(async () => {
          const v = (await o.client.get(`${P}/entities/${externalId}/state/kyc_status`)).body.data?.value;
          return v?.status === 'pending' ? v : undefined;
        });
        expect(pending.checkId).toBe(`check-${externalId}`);
        const body = JSON.stringify({
          payload: {
            resource_type: 'check',
            action: 'check.completed',
            object: {
              id: pending.checkId,
              status: 'complete',
              completed_at_iso8601: new Date().toISOString(),
              href: `${api.url}/v3.6/checks/${pending.checkId}`,
            },
          },
        });
        const started = Date.now();
        const res = await fetch(h.stack.baseUrl + conn.body.data.webhookPath, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...providerSignatureHeaders('onfido', TOKEN, body) },
          body,
        });
        const answeredMs = Date.now() - started;
        expect(res.status).toBe(200);
        const answer = ((await res.json()) as { data: { deliveryId: string; outcome: string } }).data;
        expect(answer.outcome).toBe('result_to_fetch');
        // Sumsub's receiver deadline is 5 s; this one does a lookup and an insert, never the read.
        expect(answeredMs).toBeLessThan(2000);
        const reads = () =>
          api.seen.filter((r) => r.method === 'GET' && r.url === `/v3.6/checks/${pending.checkId}`);
        return { ev, pending, answer, reads };
      };
      for (const [externalId, status] of [
        ['onfido_clear', 'approved'],
        ['onfido_consider', 'review'],
      ] as const) {
        const { ev, pending, answer, reads: readsOfCheck } = await completeCheck(externalId);

        const result = await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit');
        expect(result).toMatchObject({ checked: true, status, checkId: pending.checkId });
        expect(
          (await o.client.get(`${P}/entities/${externalId}/state/kyc_status`)).body.data.value,
        ).toMatchObject({
          status,
          provider: 'onfido',
          deliveryId: answer.deliveryId,
        });
        const reads = readsOfCheck();
        expect(reads).toHaveLength(2);
        expect(reads[1]!.headers.authorization).toBe('Token token=api_sandbox.flow-onfido');
        const fetched = await definitionResult(
          h.stack,
          `provider.webhook.kyc.completed:${answer.deliveryId}`,
          'kyc-result',
        );
        expect(fetched).toEqual({ fetched: { outcome: 'fetched', result: status } });
        expect((await listing(o)).find((d) => d.id === answer.deliveryId)).toMatchObject({
          eventType: 'check.completed',
          result: status,
          externalId,
          outcome: 'applied',
        });
      }
      await eventually(async () =>
        h.receiver.requests.some(
          (r) => r.body.type === 'alert.kyc_review' && r.body.data.externalId === 'onfido_consider',
        )
          ? true
          : undefined,
      );

      // Withdrawn: the read-back ends at once, ignored with its reason, instead of being
      // retried for a day; the deposit's KYC wait goes on to its deadline (overdue then).
      const withdrawn = await completeCheck('onfido_withdrawn');
      const fetched = await definitionResult(
        h.stack,
        `provider.webhook.kyc.completed:${withdrawn.answer.deliveryId}`,
        'kyc-result',
      );
      expect(fetched).toEqual({ fetched: { outcome: 'ignored', result: null, reason: 'check_withdrawn' } });
      expect(withdrawn.reads()).toHaveLength(2);
      expect((await listing(o)).find((d) => d.id === withdrawn.answer.deliveryId)).toMatchObject({
        eventType: 'check.completed',
        result: null,
        outcome: 'ignored',
        outcomeReason: 'check_withdrawn',
      });
      expect(
        (await o.client.get(`${P}/entities/onfido_withdrawn/state/kyc_status`)).body.data.value,
      ).toMatchObject({ status: 'pending', checkId: withdrawn.pending.checkId });
    } finally {
      await api.close();
    }
  });
});
