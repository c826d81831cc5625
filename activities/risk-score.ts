/**
 * The `risk_score` state: one value several workflows contribute to, each with its own flag.
 * A flag is added (or refreshed) and the score recomputed from all flags present, so the
 * order in which AML, affordability and self-exclusion flag an entity does not matter.
 */
export type RiskFlag = 'aml_threshold' | 'affordability' | 'self_exclusion';

/** Points per flag; a score of 70+ is high risk. Self-exclusion alone is the maximum. */
const WEIGHTS: Record<RiskFlag, number> = { aml_threshold: 40, affordability: 30, self_exclusion: 100 };

export interface RiskScoreValue {
  score: number;
  level: 'low' | 'medium' | 'high';
  self_excluded: boolean;
  flags: Partial<Record<RiskFlag, Record<string, unknown> & { flaggedAt: string }>>;
  updatedAt: string;
}

export function withRiskFlag(
  current: unknown,
  flag: RiskFlag,
  details: Record<string, unknown>,
  now: Date,
): RiskScoreValue {
  const previous = isRiskScore(current) ? current.flags : {};
  const flags = { ...previous, [flag]: { ...details, flaggedAt: now.toISOString() } };
  const score = Math.min(
    100,
    (Object.keys(flags) as RiskFlag[]).reduce((sum, f) => sum + (WEIGHTS[f] ?? 0), 0),
  );
  return {
    score,
    level: score >= 70 ? 'high' : score >= 30 ? 'medium' : 'low',
    self_excluded: 'self_exclusion' in flags,
    flags,
    updatedAt: now.toISOString(),
  };
}

/** A value someone else wrote (e.g. a plain number via the API) is replaced, not merged. */
function isRiskScore(v: unknown): v is RiskScoreValue {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { flags?: unknown }).flags === 'object' &&
    (v as { flags?: unknown }).flags !== null
  );
}
