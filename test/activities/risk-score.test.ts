import { withRiskFlag } from '../../activities/risk-score';

const now = new Date('2026-04-06T12:00:00.000Z');

describe('risk_score flags', () => {
  it('scores one flag and keeps earlier flags when another is added', () => {
    const aml = withRiskFlag(undefined, 'aml_threshold', { amount: 2500 }, now);
    expect(aml).toEqual({
      score: 40,
      level: 'medium',
      self_excluded: false,
      flags: { aml_threshold: { amount: 2500, flaggedAt: now.toISOString() } },
      updatedAt: now.toISOString(),
    });
    const both = withRiskFlag(aml, 'affordability', { netDeposits: 200 }, now);
    expect(both).toMatchObject({
      score: 70,
      level: 'high',
      flags: { aml_threshold: { amount: 2500 }, affordability: { netDeposits: 200 } },
    });
  });

  it('refreshes a flag raised again instead of counting it twice', () => {
    const once = withRiskFlag(undefined, 'affordability', { netDeposits: 160 }, now);
    const twice = withRiskFlag(once, 'affordability', { netDeposits: 190 }, now);
    expect(twice).toMatchObject({ score: 30, flags: { affordability: { netDeposits: 190 } } });
  });

  it('caps the score at 100 and marks self-exclusion', () => {
    const v = withRiskFlag(withRiskFlag(undefined, 'aml_threshold', {}, now), 'self_exclusion', {}, now);
    expect(v).toMatchObject({ score: 100, level: 'high', self_excluded: true });
  });

  it('replaces a value of another shape (e.g. a number set through the API)', () => {
    expect(withRiskFlag(42, 'affordability', {}, now)).toMatchObject({
      score: 30,
      flags: { affordability: {} },
    });
  });
});
