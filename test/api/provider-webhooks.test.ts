import { recordKycCheck } from '../../core/db/kyc-checks';
import { providerSignatureHeaders, type KycProviderName } from '../../core/security/provider-signatures';
import { expectError, ISO_MS } from '../support/expect';
import { P, type Res } from '../support/http';
import { newOperator } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';
import { eventually, listWorkflowIds } from '../support/workflow-harness';

jest.setTimeout(60_000);

type Op = Awaited<ReturnType<typeof newOperator>>;

/** POSTs exactly these bytes to a provider webhook URL (no API key: the signature is the authentication). */
async function deliver(
  stack: TestStack,
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<Res & { ms: number }> {
  const started = Date.now();
  const res = await fetch(stack.baseUrl + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text ? JSON.parse(text) : undefined,
    headers: res.headers,
    ms: Date.now() - started,
  };
}

const signed = (provider: KycProviderName, secret: string, body: string) =>
  providerSignatureHeaders(provider, secret, body);

const sumsubReviewed = (o: {
  applicantId: string;
  answer: 'GREEN' | 'RED';
  rejectType?: string;
  at: string;
  correlationId?: string;
}) =>
  JSON.stringify({
    applicantId: o.applicantId,
    inspectionId: `insp-${o.applicantId}`,
    correlationId: o.correlationId ?? `req-${o.applicantId}-${o.at}`,
    externalUserId: 'player_1',
    levelName: 'basic-kyc-level',
    type: 'applicantReviewed',
    reviewResult: {
      reviewAnswer: o.answer,
      ...(o.rejectType ? { reviewRejectType: o.rejectType, rejectLabels: ['FORGERY'] } : {}),
    },
    reviewStatus: 'completed',
    createdAtMs: o.at,
  });

describe('inbound KYC provider webhooks', () => {
  let stack: TestStack;
  let sumsubOp: Op;
  let onfidoOp: Op;
  let sumsub: { id: string; webhookPath: string };
  let onfido: { id: string; webhookPath: string };
  const SUMSUB_SECRET = 'sumsub-webhook-secret-0001';
  const ONFIDO_TOKEN = 'onfido-webhook-token-0001';

  const inbox = async (op: Op) =>
    (await op.client.get(`${P}/providers/deliveries?limit=100`)).body.data as any[];
  const inboxRows = async () =>
    Number((await stack.db.pool.query('select count(*)::int as n from provider_webhook_inbox')).rows[0].n);

  beforeAll(async () => {
    stack = await startStack({ configOverrides: { PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE: '30' } });
    sumsubOp = await newOperator(stack.db.pool, stack.baseUrl, { name: 'sumsub-op' });
    onfidoOp = await newOperator(stack.db.pool, stack.baseUrl, { name: 'onfido-op' });
    const a = await sumsubOp.client.post(`${P}/providers/connections`, {
      provider: 'sumsub',
      credentials: { appToken: 'sbx:app-token-a', secretKey: 'sumsub-api-secret-a' },
      webhookSecret: SUMSUB_SECRET,
    });
    expect(a.status).toBe(201);
    sumsub = a.body.data;
    const b = await onfidoOp.client.post(`${P}/providers/connections`, {
      provider: 'onfido',
      credentials: { apiToken: 'api_sandbox.onfido-token-b' },
      webhookSecret: ONFIDO_TOKEN,
    });
    expect(b.status).toBe(201);
    onfido = b.body.data;
    // The checks these deliveries name, as requestProviderCheck records them: a result for a
    // check never created is stored `ignored` (test/workflows/kyc-provider-flow.test.ts).
    for (const n of ['1', '2', '3', '4', '5', '6', '7', '8', 'after-delete'])
      await recordKycCheck(stack.db.pool, {
        operatorId: sumsubOp.operatorId,
        provider: 'sumsub',
        checkId: n === 'after-delete' ? 'sumsub-after-delete' : `sumsub-app-${n}`,
        applicantId: 'player_1',
        externalId: 'player_1',
        workflowId: `entity_event.transaction:eev_${n}`,
      });
    await recordKycCheck(stack.db.pool, {
      operatorId: onfidoOp.operatorId,
      provider: 'onfido',
      checkId: 'chk-onfido-1',
      applicantId: 'player_o1',
      externalId: 'player_o1',
      workflowId: 'entity_event.transaction:eev_o1',
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("two operators on two providers side by side: each one's signed result lands in its own inbox only", async () => {
    const body = sumsubReviewed({
      applicantId: 'sumsub-app-1',
      answer: 'GREEN',
      at: '2026-12-01 10:00:00.125',
    });
    const res = await deliver(stack, sumsub.webhookPath, body, signed('sumsub', SUMSUB_SECRET, body));
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      deliveryId: expect.stringMatching(/^pwd_/),
      duplicate: false,
      outcome: 'accepted',
    });
    // Sumsub's receiver must answer within 5 s; ours does one lookup and one insert.
    expect(res.ms).toBeLessThan(2000);

    const onfidoBody = JSON.stringify({
      payload: {
        resource_type: 'check',
        action: 'check.completed',
        object: {
          id: 'chk-onfido-1',
          status: 'complete',
          completed_at_iso8601: '2026-12-01T10:05:00Z',
          href: 'https://api.eu.onfido.com/v3.6/checks/chk-onfido-1',
        },
      },
    });
    const o = await deliver(
      stack,
      onfido.webhookPath,
      onfidoBody,
      signed('onfido', ONFIDO_TOKEN, onfidoBody),
    );
    expect(o.status).toBe(200);
    expect(o.body.data.outcome).toBe('result_to_fetch');

    const a = await inbox(sumsubOp);
    expect(a).toEqual([
      {
        id: res.body.data.deliveryId,
        connectionId: sumsub.id,
        provider: 'sumsub',
        eventType: 'applicantReviewed',
        providerEventId: 'req-sumsub-app-1-2026-12-01 10:00:00.125',
        checkId: 'sumsub-app-1',
        applicantId: 'player_1',
        externalId: 'player_1',
        result: 'approved',
        resultDetails: null,
        providerTimestamp: '2026-12-01T10:00:00.125Z',
        receivedAt: expect.stringMatching(ISO_MS),
        // No worker in this stack: recorded, its event queued, not applied yet.
        outcome: 'pending',
        outcomeReason: null,
        outcomeAt: null,
        appliedBy: null,
        supersededBy: null,
      },
    ]);
    const b = await inbox(onfidoOp);
    expect(b).toEqual([
      expect.objectContaining({
        connectionId: onfido.id,
        provider: 'onfido',
        eventType: 'check.completed',
        checkId: 'chk-onfido-1',
        externalId: 'player_o1',
        result: null,
        providerTimestamp: '2026-12-01T10:05:00.000Z',
        outcome: 'pending',
        outcomeReason: 'result_to_fetch',
      }),
    ]);
  });

  it('reads RED FINAL as rejected, RED RETRY as review (keeping rejectLabels and reviewRejectType), and a non-result event as ignored (not_a_result)', async () => {
    const cases: Array<[string, string, string]> = [
      [
        sumsubReviewed({
          applicantId: 'sumsub-app-2',
          answer: 'RED',
          rejectType: 'FINAL',
          at: '2026-12-01 11:00:00.000',
        }),
        'rejected',
        'FINAL',
      ],
      [
        sumsubReviewed({
          applicantId: 'sumsub-app-3',
          answer: 'RED',
          rejectType: 'RETRY',
          at: '2026-12-01 11:00:00.000',
        }),
        'review',
        'RETRY',
      ],
    ];
    for (const [body, result, rejectType] of cases) {
      const res = await deliver(stack, sumsub.webhookPath, body, signed('sumsub', SUMSUB_SECRET, body));
      expect(res.status).toBe(200);
      const row = (await inbox(sumsubOp)).find((d) => d.id === res.body.data.deliveryId);
      expect(row.result).toBe(result);
      expect(row.resultDetails).toEqual({ reviewRejectType: rejectType, rejectLabels: ['FORGERY'] });
      // The result's internal event carries them too (what waits, kyc-result and forwarded webhooks see).
      const wf = `provider.webhook.kyc.${result}:${row.id}`;
      const history = await eventually(async () =>
        stack.temporal.workflow
          .getHandle(wf)
          .fetchHistory()
          .catch(() => undefined),
      );
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      const input = JSON.parse(Buffer.from(started!.input!.payloads![0]!.data!).toString('utf8'));
      expect(input.data).toMatchObject({ reviewRejectType: rejectType, rejectLabels: ['FORGERY'] });
    }
    const pending = JSON.stringify({
      applicantId: 'sumsub-app-4',
      type: 'applicantPending',
      reviewStatus: 'pending',
      createdAtMs: '2026-12-01 11:00:01.000',
    });
    const res = await deliver(stack, sumsub.webhookPath, pending, signed('sumsub', SUMSUB_SECRET, pending));
    expect(res.body.data.outcome).toBe('ignored');
    const row = (await inbox(sumsubOp)).find((d) => d.id === res.body.data.deliveryId);
    expect(row).toMatchObject({
      outcome: 'ignored',
      outcomeReason: 'not_a_result',
      outcomeAt: expect.stringMatching(ISO_MS),
      resultDetails: null,
    });
  });

  it('answers a redelivery of an old result 200 duplicate and changes nothing', async () => {
    const body = sumsubReviewed({
      applicantId: 'sumsub-app-5',
      answer: 'GREEN',
      at: '2026-11-01 09:00:00.000',
    });
    const first = await deliver(stack, sumsub.webhookPath, body, signed('sumsub', SUMSUB_SECRET, body));
    expect(first.body.data.duplicate).toBe(false);
    const before = await inboxRows();
    // The provider resends the same event hours later (its retry schedule), SHA-512 this time.
    const again = await deliver(
      stack,
      sumsub.webhookPath,
      body,
      providerSignatureHeaders('sumsub', SUMSUB_SECRET, body, 'HMAC_SHA512_HEX'),
    );
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual({
      deliveryId: first.body.data.deliveryId,
      duplicate: true,
      outcome: 'accepted',
    });
    expect(await inboxRows()).toBe(before);
  });

  it('refuses a wrong or missing signature with 401 and records nothing', async () => {
    const before = await inboxRows();
    const body = sumsubReviewed({
      applicantId: 'sumsub-app-6',
      answer: 'GREEN',
      at: '2026-12-01 12:00:00.000',
    });
    expectError(
      await deliver(stack, sumsub.webhookPath, body, signed('sumsub', 'not-the-secret-at-all', body)),
      401,
      'UNAUTHORIZED',
    );
    expectError(await deliver(stack, sumsub.webhookPath, body, {}), 401, 'UNAUTHORIZED');
    // A signature of other bytes (the body tampered with after signing).
    const tampered = body.replace('GREEN', 'RED');
    expectError(
      await deliver(stack, sumsub.webhookPath, tampered, signed('sumsub', SUMSUB_SECRET, body)),
      401,
      'UNAUTHORIZED',
    );
    expect(await inboxRows()).toBe(before);
  });

  it("refuses a delivery signed with another operator's connection secret (401), recording nothing", async () => {
    const before = await inboxRows();
    const body = sumsubReviewed({
      applicantId: 'sumsub-app-7',
      answer: 'GREEN',
      at: '2026-12-01 12:30:00.000',
    });
    // The Onfido operator's token, in Sumsub's header form, posted to the Sumsub operator's receiver.
    expectError(
      await deliver(stack, sumsub.webhookPath, body, signed('sumsub', ONFIDO_TOKEN, body)),
      401,
      'UNAUTHORIZED',
    );
    // The Sumsub operator's validly signed body, posted to the Onfido operator's receiver.
    expectError(
      await deliver(stack, onfido.webhookPath, body, signed('onfido', SUMSUB_SECRET, body)),
      401,
      'UNAUTHORIZED',
    );
    expect(await inboxRows()).toBe(before);
    expect((await inbox(onfidoOp)).some((d) => d.checkId === 'sumsub-app-7')).toBe(false);
  });

  it('answers 404 alike for an unknown connection and for a real one under another provider, saying nothing more', async () => {
    const body = '{}';
    const unknown = await deliver(
      stack,
      `${P}/providers/sumsub/webhooks/pcn_00000000000000ff`,
      body,
      signed('sumsub', SUMSUB_SECRET, body),
    );
    const wrongProvider = await deliver(
      stack,
      `${P}/providers/onfido/webhooks/${sumsub.id}`,
      body,
      signed('onfido', SUMSUB_SECRET, body),
    );
    expectError(unknown, 404, 'NOT_FOUND');
    expectError(wrongProvider, 404, 'NOT_FOUND');
    expect(unknown.body.error.message).toBe(wrongProvider.body.error.message);
    expect(JSON.stringify(unknown.body)).not.toContain('pcn_');
  });

  it('answers 413 for a body over 64 KB and 400 for validly signed malformed JSON or a foreign shape, recording nothing', async () => {
    const before = await inboxRows();
    const big = JSON.stringify({ type: 'applicantReviewed', padding: 'x'.repeat(70 * 1024) });
    expectError(
      await deliver(stack, sumsub.webhookPath, big, signed('sumsub', SUMSUB_SECRET, big)),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const malformed = '{"type":"applicantReviewed","reviewResult":';
    expectError(
      await deliver(stack, sumsub.webhookPath, malformed, signed('sumsub', SUMSUB_SECRET, malformed)),
      400,
      'VALIDATION_FAILED',
    );
    const foreign = JSON.stringify({ hello: 'world' });
    expectError(
      await deliver(stack, sumsub.webhookPath, foreign, signed('sumsub', SUMSUB_SECRET, foreign)),
      400,
      'VALIDATION_FAILED',
    );
    expect(await inboxRows()).toBe(before);
  });

  it("changes nothing for bad input: wrong signature, unknown connection, another operator's secret, oversized body, signed malformed JSON; a replay of a recorded delivery is answered as the first and records nothing more", async () => {
    // An operator of its own, with a check for one player: every trace a delivery leaves is
    // counted for that check and that player (inbox rows, queued events, workflows, kyc_status).
    const victim = await newOperator(stack.db.pool, stack.baseUrl, { name: 'bad-input' });
    const other = await newOperator(stack.db.pool, stack.baseUrl, { name: 'bad-input-other' });
    const SECRET = 'bad-input-sumsub-secret-01';
    const conn = (
      await victim.client.post(`${P}/providers/connections`, {
        provider: 'sumsub',
        credentials: { appToken: 'sbx:app-token-v', secretKey: 'sumsub-api-secret-v' },
        webhookSecret: SECRET,
      })
    ).body.data;
    const otherConn = (await other.client.post(`${P}/providers/connections`, { provider: 'sandbox' })).body
      .data;
    await recordKycCheck(stack.db.pool, {
      operatorId: victim.operatorId,
      provider: 'sumsub',
      checkId: 'bad-app-1',
      applicantId: 'bad_player',
      externalId: 'bad_player',
      workflowId: 'entity_event.transaction:eev_bad1',
    });
    const traces = async () => ({
      inbox: Number(
        (
          await stack.db.pool.query(
            `select count(*)::int as n from provider_webhook_inbox where operator_id = $1`,
            [victim.operatorId],
          )
        ).rows[0].n,
      ),
      outbox: Number(
        (
          await stack.db.pool.query(
            `select count(*)::int as n from fanout_outbox where operator_id = $1 and internal_event like 'provider.%'`,
            [victim.operatorId],
          )
        ).rows[0].n,
      ),
      kycStatus: (await victim.client.get(`${P}/entities/bad_player/state/kyc_status`)).status,
    });
    const workflowsOfPlayer = async (atLeast: number) =>
      listWorkflowIds(
        stack,
        `OperatorId = '${victim.operatorId}' AND EntityExternalId = 'bad_player'`,
        atLeast,
      );
    const untouched = { inbox: 0, outbox: 0, kycStatus: 404 };
    expect(await traces()).toEqual(untouched);

    const body = sumsubReviewed({ applicantId: 'bad-app-1', answer: 'GREEN', at: '2026-12-02 09:00:00.000' });
    const bad: Array<[string, Res, number, string]> = [
      [
        'wrong signature',
        await deliver(stack, conn.webhookPath, body, signed('sumsub', 'some-other-secret-entirely', body)),
        401,
        'UNAUTHORIZED',
      ],
      [
        'unknown connection',
        await deliver(
          stack,
          `${P}/providers/sumsub/webhooks/pcn_0000000000000bad`,
          body,
          signed('sumsub', SECRET, body),
        ),
        404,
        'NOT_FOUND',
      ],
      [
        "another operator's connection secret",
        await deliver(stack, conn.webhookPath, body, signed('sumsub', otherConn.webhookSecret, body)),
        401,
        'UNAUTHORIZED',
      ],
      [
        'oversized body',
        await (async () => {
          const big = body.replace('"type"', `"padding":"${'x'.repeat(65 * 1024)}","type"`);
          return deliver(stack, conn.webhookPath, big, signed('sumsub', SECRET, big));
        })(),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'malformed JSON, validly signed',
        await (async () => {
          const cut = body.slice(0, -10);
          return deliver(stack, conn.webhookPath, cut, signed('sumsub', SECRET, cut));
        })(),
        400,
        'VALIDATION_FAILED',
      ],
    ];
    for (const [what, res, status, code] of bad) {
      expect([what, res.status, res.body?.error?.code]).toEqual([what, status, code]);
      expect(res.body.error.message.length).toBeGreaterThan(10);
    }
    expect(await traces()).toEqual(untouched);

    // The same bytes, validly signed: recorded once, one event, one workflow for the player.
    const first = await deliver(stack, conn.webhookPath, body, signed('sumsub', SECRET, body));
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ duplicate: false, outcome: 'accepted' });
    const [wf] = await workflowsOfPlayer(1);
    expect(wf).toBe(`provider.webhook.kyc.approved:${first.body.data.deliveryId}`);
    expect((await traces()).inbox).toBe(1);

    // Replayed later (a captured delivery, or the provider's own resend): answered as the first.
    const replay = await deliver(stack, conn.webhookPath, body, signed('sumsub', SECRET, body));
    expect(replay.status).toBe(200);
    expect(replay.body.data).toEqual({
      deliveryId: first.body.data.deliveryId,
      duplicate: true,
      outcome: 'accepted',
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await traces()).inbox).toBe(1);
    expect(await workflowsOfPlayer(1)).toEqual([wf]);
    // Nothing of the refused ones reached the other operator either.
    expect((await other.client.get(`${P}/providers/deliveries`)).body.data).toEqual([]);
  });

  it('answers 429 past the per-connection rate, without touching another connection', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl, { name: 'burst' });
    const conn = (await op.client.post(`${P}/providers/connections`, { provider: 'sandbox' })).body.data;
    // The limit counts per one-minute window: start clear of a window's end, so all 32 share one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      const body = JSON.stringify({
        id: `evt_burst_${i}`,
        type: 'check.completed',
        checkId: `chk_${i}`,
        applicantId: 'p',
        result: 'approved',
        createdAt: new Date().toISOString(),
      });
      statuses.push(
        (await deliver(stack, conn.webhookPath, body, signed('sandbox', conn.webhookSecret, body))).status,
      );
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.slice(30)).toEqual([429, 429]);
    // The limit comes before the body is read and the signature computed: past it, a delivery
    // with a wrong signature or an oversized body is answered 429 too, not 401 or 413.
    const forged = JSON.stringify({ id: 'evt_forged', type: 'check.completed' });
    const refused = await deliver(stack, conn.webhookPath, forged, { 'x-sandbox-digest': 'ab'.repeat(32) });
    expectError(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const big = 'x'.repeat(70 * 1024);
    expectError(
      await deliver(stack, conn.webhookPath, big, signed('sandbox', conn.webhookSecret, big)),
      429,
      'RATE_LIMITED',
    );
    // Below the limit the same forged delivery is a 401: the 429 above was the limit's.
    const fresh = await newOperator(stack.db.pool, stack.baseUrl, { name: 'burst-2' });
    const freshConn = (await fresh.client.post(`${P}/providers/connections`, { provider: 'sandbox' })).body
      .data;
    expectError(
      await deliver(stack, freshConn.webhookPath, forged, { 'x-sandbox-digest': 'ab'.repeat(32) }),
      401,
      'UNAUTHORIZED',
    );
    const body = sumsubReviewed({
      applicantId: 'sumsub-app-8',
      answer: 'GREEN',
      at: '2026-12-01 13:00:00.000',
    });
    expect(
      (await deliver(stack, sumsub.webhookPath, body, signed('sumsub', SUMSUB_SECRET, body))).status,
    ).toBe(200);
  });

  it("keeps verifying with the old secret through a rotation's grace, and refuses everything once the connection is deleted", async () => {
    const rotated = await sumsubOp.client.post(`${P}/providers/connections/${sumsub.id}/rotate`, {
      generateWebhookSecret: true,
    });
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.data.webhookSecret as string;
    expect(fresh).toEqual(expect.any(String));
    expect(rotated.body.data.previousWebhookSecretExpiresAt).toMatch(ISO_MS);
    for (const [i, secret] of [fresh, SUMSUB_SECRET].entries()) {
      const body = sumsubReviewed({
        applicantId: `sumsub-rot-${i}`,
        answer: 'GREEN',
        at: '2026-12-01 14:00:00.000',
      });
      expect((await deliver(stack, sumsub.webhookPath, body, signed('sumsub', secret, body))).status).toBe(
        200,
      );
    }
    expect((await sumsubOp.client.delete(`${P}/providers/connections/${sumsub.id}`)).status).toBe(200);
    const body = sumsubReviewed({
      applicantId: 'sumsub-after-delete',
      answer: 'GREEN',
      at: '2026-12-01 15:00:00.000',
    });
    expectError(
      await deliver(stack, sumsub.webhookPath, body, signed('sumsub', fresh, body)),
      404,
      'NOT_FOUND',
    );
    // The inbox stays the operator's record.
    expect((await inbox(sumsubOp)).length).toBeGreaterThanOrEqual(6);
  });

  it('pages the inbox with next_cursor and refuses a forged cursor', async () => {
    const first = await onfidoOp.client.get(`${P}/providers/deliveries?limit=1`);
    expect(first.body).toMatchObject({ success: true, count: 1, has_more: false, next_cursor: null });
    const many = await sumsubOp.client.get(`${P}/providers/deliveries?limit=2`);
    expect(many.body.has_more).toBe(true);
    const next = await sumsubOp.client.get(
      `${P}/providers/deliveries?limit=2&cursor=${many.body.next_cursor}`,
    );
    expect(next.status).toBe(200);
    const ids = [...many.body.data, ...next.body.data].map((d: any) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expectError(
      await sumsubOp.client.get(`${P}/providers/deliveries?cursor=bm90LWEtY3Vyc29y`),
      400,
      'VALIDATION_FAILED',
    );
  });
});
