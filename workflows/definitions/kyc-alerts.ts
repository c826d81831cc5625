import type { KycResultApplied } from '../../activities/kyc/results';
import type { DefinitionContext } from '../definition';

/** The provider results a KYC wait or kyc-result listens for. */
export const KYC_RESULTS = ['approved', 'rejected', 'review'] as const;

/**
 * The alert for a result this workflow applied (applyKycResult answered `applied`): whichever of
 * kyc-on-deposit (waiting) and kyc-result applies a delivery first alerts, the other does not.
 * A reversal (approved, then rejected) is critical, in place of kyc_rejected.
 */
export async function alertKycResult(
  ctx: DefinitionContext,
  externalId: string,
  a: KycResultApplied,
  details: Record<string, unknown> = {},
): Promise<string | undefined> {
  if (!a.applied) return undefined;
  // The provider's reasons (Sumsub RED: rejectLabels, reviewRejectType FINAL or RETRY), so ops
  // and the operator see why without opening the provider's dashboard.
  const why = a.details ?? {};
  const base = { checkId: a.checkId, status: a.result, previous: a.previous, ...why, ...details };
  const because = describeReasons(a.details);
  if (a.reversal)
    return ctx.alert({
      kind: 'kyc_reversal',
      severity: 'critical',
      summary: `KYC check ${a.checkId} of ${externalId} reversed: approved, now rejected${because}`,
      details: base,
    });
  if (a.result === 'rejected' || a.result === 'review')
    return ctx.alert({
      kind: a.result === 'rejected' ? 'kyc_rejected' : 'kyc_review',
      severity: a.result === 'rejected' ? 'critical' : 'warning',
      summary: `KYC check ${a.checkId} came back ${a.result}${because}`,
      details: base,
    });
  return undefined;
}

/** ` (RETRY: FORGERY, SELFIE_MISMATCH)`, or nothing when the provider gave no reasons. */
function describeReasons(d: KycResultApplied['details']): string {
  if (!d) return '';
  const parts = [d.reviewRejectType, d.rejectLabels?.join(', ')].filter((p): p is string => Boolean(p));
  return parts.length > 0 ? ` (${parts.join(': ')})` : '';
}
