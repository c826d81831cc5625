import type { HttpAnswer } from '../../http';
import type { KycProviderName } from '../../../core/security/provider-signatures';

/** A check the provider accepted; its result arrives later by webhook (the provider's inbox). */
export interface PendingCheck {
  provider: KycProviderName;
  /** The provider's id of what its webhook will name (Sumsub: the applicant; Onfido, sandbox: the check). */
  checkId: string;
  status: 'pending';
}

export interface ProviderCheckRequest {
  /** The operator's id of the player: Sumsub's externalUserId, the sandbox's applicantId. */
  applicantId: string;
  /** The event that triggered the check. */
  reference: string;
}

/**
 * One interface over every provider: create the check, idempotently for one key (a retry after a
 * lost answer finds what the first attempt created), and return at once; the result comes by
 * webhook to `POST /providers/:provider/webhooks/:connectionId`.
 */
export interface KycProviderClient {
  createCheck(req: ProviderCheckRequest, idempotencyKey: string): Promise<PendingCheck>;
  /**
   * For a provider whose completion webhook does not carry the result (Onfido): reads it back.
   */
  readCheckResult?(checkId: string): Promise<CheckReadBack>;
}

/**
 * What a read-back found: the result; none yet (read again later); or none ever, because the
 * check ended without one (`reason`, e.g. `check_withdrawn`: reading again cannot help).
 */
export type CheckReadBack =
  | { result: 'approved' | 'rejected' | 'review'; ended?: undefined }
  | { result: null; ended?: string };

/** An HTTP call to the provider: the destination rule is applied to every URL before it is called. */
export type ProviderHttp = (
  method: 'GET' | 'POST',
  url: string,
  o: { body?: string; headers: Record<string, string> },
) => Promise<HttpAnswer>;
