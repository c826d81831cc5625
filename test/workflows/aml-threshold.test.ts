import { P } from '../support/http';
import { newPlayer } from '../support/operators';
import {
  eventually,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  verifyStandardWebhook,
  definitionResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

describe('aml-threshold', () => {
  let h: WorkflowHarness;
  let op: Awaited<ReturnType<typeof operatorWithWebhook>>;

  beforeAll(async () => {
    h = await startWorkflowHarness({ config: { AML_THRESHOLD: '2000', AML_THRESHOLDS: '{"GBP":1700}' } });
    op = await operatorWithWebhook(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  const transaction = async (externalId: string, data: Record<string, unknown>) => {
    const ev = await recordEvent(op.client, externalId, 'transaction', data);
    return { ...ev, result: await definitionResult(h.stack, ev.fanoutId, 'aml-threshold') };
  };
  const riskScore = async (externalId: string) =>
    (await op.client.get(`${P}/entities/${externalId}/state/risk_score`)).body.data?.value;

  it('flags a GBP deposit at the per-currency threshold (AML_THRESHOLDS), writes risk_score and sends a signed alert', async () => {
    await newPlayer(op.client, 'aml_1');
    const t = await transaction('aml_1', { type: 'deposit', amount: 1700, currency: 'GBP' });

    expect(t.result).toMatchObject({ flagged: true, threshold: 1700 });
    expect(await riskScore('aml_1')).toMatchObject({
      flags: {
        aml_threshold: {
          eventId: t.id,
          amount: 1700,
          currency: 'GBP',
          threshold: 1700,
          transactionType: 'deposit',
        },
      },
    });
    const [alert] = await h.receiver.waitFor(
      (r) => r.body.type === 'alert.aml_threshold' && r.body.data.externalId === 'aml_1',
    );
    expect(verifyStandardWebhook(op.webhookSecret, alert!)).toBe(true);
    expect(alert!.body.data).toMatchObject({
      severity: 'warning',
      eventId: t.id,
      details: { amount: 1700, currency: 'GBP', threshold: 1700 },
    });
  });

  it('keeps both flags when AML and affordability flag the same deposit concurrently', async () => {
    await newPlayer(op.client, 'aml_2');
    const t = await transaction('aml_2', { type: 'deposit', amount: 1800, currency: 'GBP' });
    await definitionResult(h.stack, t.fanoutId, 'affordability-check');

    expect(await riskScore('aml_2')).toMatchObject({
      score: 70,
      level: 'high',
      self_excluded: false,
      flags: { aml_threshold: expect.any(Object), affordability: expect.any(Object) },
    });
  });

  it('uses AML_THRESHOLD for currencies without an override: 1800 EUR is under 2000', async () => {
    await newPlayer(op.client, 'aml_3');
    const t = await transaction('aml_3', { type: 'deposit', amount: 1800, currency: 'EUR' });
    expect(t.result).toEqual({ flagged: false, threshold: 2000 });
  });

  it('flags a withdrawal too: the threshold is on any single transaction', async () => {
    await newPlayer(op.client, 'aml_4');
    const t = await transaction('aml_4', { type: 'withdrawal', amount: 2000, currency: 'EUR' });
    expect(t.result).toMatchObject({ flagged: true, threshold: 2000 });
    const value = await eventually(async () => riskScore('aml_4'));
    expect(value).toMatchObject({
      score: 40,
      level: 'medium',
      flags: { aml_threshold: { transactionType: 'withdrawal' } },
    });
  });
});
