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
  const base = { checkId: a.checkId, status: a.result, previous: a.previous, ...details };
  if (a.reversal)
    return ctx.alert({
      kind: 'kyc_reversal',
      severity: 'critical',
      summary: `KYC check ${a.checkId} of ${externalId} reversed: approved, now rejected`,
      details: base,
    });
  if (a.result === 'rejected' || a.result === 'review')
    return ctx.alert({
      kind: a.result === 'rejected' ? 'kyc_rejected' : 'kyc_review',
      severity: a.result === 'rejected' ? 'critical' : 'warning',
      summary: `KYC check ${a.checkId} came back ${a.result}`,
      details: base,
    });
  return undefined;
}
