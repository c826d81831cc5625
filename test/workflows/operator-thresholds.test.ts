import { newPlayer } from '../support/operators';
import type { FanoutResult } from '../../workflows/types';
import { runCli } from '../support/cli';
import { P } from '../support/http';
import {
  definitionResult,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(120_000);

/**
 * Per-operator parameters of kyc-on-deposit, aml-threshold and affordability-check, set with
 * `npm run cli -- operators workflow-settings` or PUT /workflows and read by the activities; the environment
 * (here: AML_THRESHOLD 2000, AFFORDABILITY_THRESHOLD 150, KYC_DEPOSIT_THRESHOLD 1000) for
 * an operator that set nothing.
 */
describe('per-operator workflow settings', () => {
  let h: WorkflowHarness;
  let strict: Awaited<ReturnType<typeof operatorWithWebhook>>;
  let lenient: Awaited<ReturnType<typeof operatorWithWebhook>>;

  const cli = (...args: string[]) =>
    runCli(['operators', 'workflow-settings', ...args], { DATABASE_URL: h.stack.db.url });
  const deposit = async (op: typeof strict, player: string, amount: number) => {
    const ev = await recordEvent(op.client, player, 'transaction', {
      type: 'deposit',
      amount,
      currency: 'GBP',
    });
    return ev;
  };

  beforeAll(async () => {
    h = await startWorkflowHarness({
      config: { AML_THRESHOLD: '2000', AFFORDABILITY_THRESHOLD: '150', KYC_DEPOSIT_THRESHOLD: '1000' },
    });
    strict = await operatorWithWebhook(h, [], { mode: 'test' });
    lenient = await operatorWithWebhook(h, [], { mode: 'test' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('sets and shows an operator’s settings through the CLI, refusing invalid ones', async () => {
    const set = await cli(
      strict.operatorId,
      '--set',
      '{"amlThresholds":{"GBP":1000},"kycDepositThreshold":100,"affordabilityThreshold":10000}',
      '--json',
    );
    expect(set).toMatchObject({ code: 0 });
    expect(JSON.parse(set.stdout)).toEqual({
      operatorId: strict.operatorId,
      settings: { amlThresholds: { GBP: 1000 }, kycDepositThreshold: 100, affordabilityThreshold: 10000 },
    });

    const bad = await cli(strict.operatorId, '--set', '{"amlThresholds":{"pounds":1},"unknown":1}');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/amlThresholds\.pounds/);
    expect(bad.stderr).toMatch(/unknown/i);
    const missing = await cli('op_missing', '--set', '{}');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No operator op_missing/);
    // The refused values changed nothing.
    expect(JSON.parse((await cli(strict.operatorId, '--json')).stdout).settings).toMatchObject({
      amlThresholds: { GBP: 1000 },
    });

    // Definitions switched off, as PUT /workflows stores them and GET /workflows shows them.
    const other = await operatorWithWebhook(h, [], { mode: 'test' });
    const off = await cli(
      other.operatorId,
      '--set',
      '{"disabledDefinitions":["affordability-check"]}',
      '--json',
    );
    expect(JSON.parse(off.stdout).settings).toEqual({ disabledDefinitions: ['affordability-check'] });
    const shown = (await other.client.get(`${P}/workflows`)).body.data.definitions;
    expect(
      shown.filter((d: { enabled: boolean }) => !d.enabled).map((d: { name: string }) => d.name),
    ).toEqual(['affordability-check']);
    const unknown = await cli(other.operatorId, '--set', '{"disabledDefinitions":["big-win-alert"]}');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/disabledDefinitions\.0 unknown definition "big-win-alert"/);
  });

  it('two operators with different thresholds get different outcomes for the same deposit', async () => {
    for (const op of [strict, lenient]) await newPlayer(op.client, 'same_player');
    const [s, l] = [await deposit(strict, 'same_player', 1500), await deposit(lenient, 'same_player', 1500)];

    expect(await definitionResult(h.stack, s.fanoutId, 'aml-threshold')).toMatchObject({
      flagged: true,
      threshold: 1000,
    });
    expect(await definitionResult(h.stack, l.fanoutId, 'aml-threshold')).toMatchObject({
      flagged: false,
      threshold: 2000,
    });
    expect(await definitionResult(h.stack, s.fanoutId, 'affordability-check')).toMatchObject({
      flagged: false,
    });
    expect(await definitionResult(h.stack, l.fanoutId, 'affordability-check')).toMatchObject({
      flagged: true,
    });

    // A second, smaller deposit: at or over the strict operator's KYC threshold only.
    const [s2, l2] = [await deposit(strict, 'same_player', 500), await deposit(lenient, 'same_player', 500)];
    expect(await definitionResult(h.stack, s2.fanoutId, 'kyc-on-deposit')).toMatchObject({
      reason: 'amount_at_or_over_threshold',
    });
    expect(await definitionResult(h.stack, l2.fanoutId, 'kyc-on-deposit')).toMatchObject({
      reason: 'below_threshold',
    });
  });

  it('judges an event by the settings in force when it was recorded, even if they change before its activity runs', async () => {
    await newPlayer(strict.client, 'late_player');
    await h.stack.stopWorker();
    const ev = await deposit(strict, 'late_player', 1500);
    expect((await cli(strict.operatorId, '--set', '{"amlThresholds":{"GBP":5000}}')).code).toBe(0);
    await h.stack.startWorker();
    expect(await definitionResult(h.stack, ev.fanoutId, 'aml-threshold')).toMatchObject({
      flagged: true,
      threshold: 1000,
    });
    // An event recorded after the change gets the new threshold.
    const after = await deposit(strict, 'late_player', 1500);
    expect(await definitionResult(h.stack, after.fanoutId, 'aml-threshold')).toMatchObject({
      flagged: false,
      threshold: 5000,
    });
  });

  it('two operators with different KYC thresholds set through PUT /workflows get different outcomes for the same deposit', async () => {
    const [low, high] = [
      await operatorWithWebhook(h, [], { mode: 'test' }),
      await operatorWithWebhook(h, [], { mode: 'test' }),
    ];
    const put = async (op: typeof low, body: unknown) => {
      const res = await op.client.put(`${P}/workflows`, body);
      expect(res.status).toBe(200);
      return res.body.data;
    };
    expect(
      (await put(low, { parameters: { kycDepositThreshold: 100 } })).effective.kycDepositThreshold,
    ).toEqual({
      value: 100,
      source: 'operator',
    });
    await put(high, {
      parameters: { kycDepositThreshold: 5000 },
      definitions: { 'aml-threshold': { enabled: false } },
    });
    for (const op of [low, high]) {
      await newPlayer(op.client, 'api_player');
      await deposit(op, 'api_player', 10); // the first deposit is always checked
    }
    const [l, hi] = [await deposit(low, 'api_player', 500), await deposit(high, 'api_player', 500)];
    expect(await definitionResult(h.stack, l.fanoutId, 'kyc-on-deposit')).toMatchObject({
      reason: 'amount_at_or_over_threshold',
    });
    expect(await definitionResult(h.stack, hi.fanoutId, 'kyc-on-deposit')).toMatchObject({
      reason: 'below_threshold',
    });
    // The definition the second operator switched off was not planned, so it did not run.
    const runs = async (workflowId: string) =>
      (await waitForResult<FanoutResult>(h.stack, workflowId)).runs.map((r) => r.definition);
    expect(await runs(l.fanoutId)).toContain('aml-threshold');
    expect(await runs(hi.fanoutId)).toEqual(['kyc-on-deposit', 'affordability-check', 'source-of-funds']);
  });
});
