import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkKycHistories, readKycHistory } from '../../bench/lib/kyc-histories';
import { FIXTURES_DIR, fixtureHistory, type HistoryFixture } from '../../scripts/record-history';

const read = (name: string, definition: string) => {
  const f = JSON.parse(readFileSync(path.join(FIXTURES_DIR, `${name}.json`), 'utf8')) as HistoryFixture;
  return readKycHistory(f.workflowId, fixtureHistory(f), definition);
};

/**
 * The KYC benchmark's and fault scenario's exactly-once counting, on the two recorded histories
 * of one check (the local stack, a sandbox connection): the deposit's workflow that waited and
 * the provider result's own kyc-result workflow. The result was applied by kyc-result; the
 * waiting workflow's applyKycResult found it applied.
 */
describe('KYC histories as the benchmark reads them', () => {
  const deposit = read('process-event-kyc-provider-approved', 'kyc-on-deposit');
  const result = read('process-event-kyc-result-approved', 'kyc-result');

  it('reads the waiting deposit workflow: one pending write, one signal, one apply that found it applied', () => {
    expect(deposit).toMatchObject({
      status: 'COMPLETED',
      applyScheduled: 1,
      pendingScheduled: 1,
      run: { status: 'completed', result: { status: 'approved', applied: false } },
    });
    expect(deposit.applies).toEqual([expect.objectContaining({ applied: false, result: 'approved' })]);
    expect([...deposit.signalsPerKey.values()]).toEqual([1]);
    expect(deposit.firstSignalAt).toEqual(expect.any(Number));
  });

  it('reads the result workflow: one apply, applied', () => {
    expect(result).toMatchObject({ status: 'COMPLETED', applyScheduled: 1, pendingScheduled: 0 });
    expect(result.applies).toEqual([expect.objectContaining({ applied: true, previous: 'pending' })]);
    expect(result.signalsPerKey.size).toBe(0);
  });

  it('finds the check applied exactly once, by kyc-result', () => {
    const checkId = result.applies[0]!.checkId!;
    const verdict = checkKycHistories([{ checkId, deposit, result }], 'approved');
    expect(verdict).toEqual({
      byDeposit: 0,
      byResult: 1,
      problems: {
        appliedNotOnce: [],
        applyRepeated: [],
        notCompleted: [],
        wrongOutcome: [],
        signalRepeated: [],
      },
    });
  });

  it('flags a check applied twice, or never, and a result workflow missing', () => {
    const twice = { ...deposit, applies: [{ ...deposit.applies[0]!, applied: true }] };
    expect(
      checkKycHistories([{ checkId: 'c1', deposit: twice, result }], 'approved').problems.appliedNotOnce,
    ).toEqual(['c1 ×2']);
    const verdict = checkKycHistories([{ checkId: 'c2', deposit }], 'approved');
    expect(verdict.problems.appliedNotOnce).toEqual(['c2 ×0']);
    expect(verdict.problems.notCompleted).toEqual(['c2']);
    expect(
      checkKycHistories([{ checkId: 'c3', deposit, result }], 'rejected').problems.wrongOutcome,
    ).toHaveLength(1);
  });
});
