import type { FanoutResult } from '../../workflows/types';
import { P } from '../support/http';
import { newPlayer } from '../support/operators';
import {
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  verifyStandardWebhook,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

describe('affordability-check', () => {
  let h: WorkflowHarness;
  let op: Awaited<ReturnType<typeof operatorWithWebhook>>;

  beforeAll(async () => {
    h = await startWorkflowHarness({ config: { AFFORDABILITY_THRESHOLD: '150' } });
    op = await operatorWithWebhook(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  const transaction = async (externalId: string, type: string, amount: number, currency = 'GBP') => {
    const ev = await recordEvent(op.client, externalId, 'transaction', { type, amount, currency });
    const fanout = await waitForResult<FanoutResult>(h.stack, ev.fanoutId);
    const run = fanout.runs.find((r) => r.definition === 'affordability-check');
    return { ...ev, result: run?.result };
  };

  it('flags net deposits (deposits minus withdrawals) over the threshold, in the currency of the deposit', async () => {
    await newPlayer(op.client, 'afford_1');
    expect((await transaction('afford_1', 'deposit', 100)).result).toEqual({
      flagged: false,
      netDeposits: 100,
      threshold: 150,
    });
    expect((await transaction('afford_1', 'withdrawal', 30)).result).toBeUndefined();
    expect((await transaction('afford_1', 'deposit', 60)).result).toEqual({
      flagged: false,
      netDeposits: 130,
      threshold: 150,
    });
    expect((await transaction('afford_1', 'deposit', 100, 'EUR')).result).toEqual({
      flagged: false,
      netDeposits: 100,
      threshold: 150,
    });

    const over = await transaction('afford_1', 'deposit', 25);
    expect(over.result).toMatchObject({ flagged: true, netDeposits: 155, threshold: 150 });
    const risk = (await op.client.get(`${P}/entities/afford_1/state/risk_score`)).body.data.value;
    expect(risk).toMatchObject({
      score: 30,
      level: 'medium',
      flags: {
        affordability: {
          eventId: over.id,
          deposits: 185,
          withdrawals: 30,
          netDeposits: 155,
          currency: 'GBP',
          windowDays: 30,
        },
      },
    });
    const [alert] = await h.receiver.waitFor(
      (r) => r.body.type === 'alert.affordability' && r.body.data.externalId === 'afford_1',
    );
    expect(verifyStandardWebhook(op.webhookSecret, alert!)).toBe(true);
    expect(alert!.body.data.details).toMatchObject({ netDeposits: 155, threshold: 150, windowDays: 30 });
  });

  it('ignores deposits older than the rolling 30 days', async () => {
    await newPlayer(op.client, 'afford_2');
    await h.stack.db.pool.query(
      `insert into events (id, operator_id, external_id, event_type, data, created_at)
       values ('eev_00000000000000a1', $1, 'afford_2', 'transaction', '{"type":"deposit","amount":500,"currency":"GBP"}', now() - interval '31 days')`,
      [op.operatorId],
    );
    expect((await transaction('afford_2', 'deposit', 100)).result).toEqual({
      flagged: false,
      netDeposits: 100,
      threshold: 150,
    });
  });
});
