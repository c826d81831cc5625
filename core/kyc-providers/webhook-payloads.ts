import { z } from 'zod';
import type { KycResult, ProviderDelivery, ResultDetails } from '../db/provider-inbox';
import type { KycProviderName } from '../security/provider-signatures';

/**
 * What each provider's webhook body means to us, read after its signature verified:
 * the event, the provider's identifiers (for deduplication), the check, our normalised result
 * and the provider's own time. Shapes from the providers' public documentation:
 *
 * - Sumsub (User verification webhooks): `type` (`applicantReviewed` carries the result),
 *   `applicantId`, `inspectionId`, `correlationId` ("a unique identifier of the event"),
 *   `externalUserId` (our applicant), `reviewStatus`, `createdAtMs` (UTC,
 *   `yyyy-MM-dd HH:mm:ss.fff`), `reviewResult.reviewAnswer` GREEN or RED, and for RED
 *   `reviewRejectType` FINAL or RETRY. GREEN is approved; RED FINAL rejected; RED RETRY (the
 *   applicant may resubmit) review; RED without a type is taken as rejected.
 * - Onfido (API v3.6 webhooks): `{ payload: { resource_type, action, object: { id, status,
 *   completed_at_iso8601, href } } }`. `check.completed` says a check finished but not how:
 *   its `result` (`clear` or `consider`) is read with GET /checks/{id}, so such a delivery is
 *   recorded as `result_to_fetch`.
 * - sandbox (ours): `{ id, type: "check.completed", checkId, applicantId, result, createdAt }`.
 */
export type ReadDelivery = { ok: true; delivery: ProviderDelivery } | { ok: false; problem: string };

const SumsubWebhook = z.object({
  type: z.string().min(1),
  applicantId: z.string().optional(),
  inspectionId: z.string().optional(),
  correlationId: z.string().optional(),
  externalUserId: z.string().optional(),
  reviewStatus: z.string().optional(),
  createdAtMs: z.union([z.string(), z.number()]).optional(),
  createdAt: z.string().optional(),
  reviewResult: z
    .object({
      reviewAnswer: z.string().optional(),
      reviewRejectType: z.string().optional(),
      rejectLabels: z.array(z.string()).optional(),
    })
    .optional(),
});

const OnfidoWebhook = z.object({
  payload: z.object({
    resource_type: z.string(),
    action: z.string().min(1),
    object: z.object({
      id: z.string().min(1),
      status: z.string().optional(),
      completed_at_iso8601: z.string().optional(),
      href: z.string().optional(),
    }),
    resource: z.object({ applicant_id: z.string().optional() }).passthrough().optional(),
  }),
});

export const SandboxWebhook = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  checkId: z.string().min(1),
  applicantId: z.string().min(1),
  result: z.enum(['approved', 'rejected', 'review']),
  createdAt: z.string(),
});
export type SandboxWebhook = z.infer<typeof SandboxWebhook>;

/** Sumsub writes `createdAtMs` as `2021-05-14 16:00:25.032` in UTC (a number of ms is also read). */
export function parseSumsubTime(v: string | number | undefined): Date | null {
  if (v === undefined) return null;
  const d =
    typeof v === 'number'
      ? new Date(v)
      : new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : v.replace(' ', 'T') + 'Z');
  return Number.isNaN(d.getTime()) ? null : d;
}

const isoOrNull = (v: string | undefined): Date | null => {
  const d = v === undefined ? undefined : new Date(v);
  return d && !Number.isNaN(d.getTime()) ? d : null;
};

export function sumsubResult(review: z.infer<typeof SumsubWebhook>['reviewResult']): KycResult | null {
  if (review?.reviewAnswer === 'GREEN') return 'approved';
  if (review?.reviewAnswer === 'RED') return review.reviewRejectType === 'RETRY' ? 'review' : 'rejected';
  return null;
}

/**
 * Why Sumsub said RED: its `rejectLabels` (e.g. FORGERY, DOCUMENT_PAGE_MISSING) and
 * `reviewRejectType` (FINAL: no resubmission; RETRY: the applicant may fix and resubmit), kept
 * so the result's event and alert tell ops and the operator why. Moderator comments are not
 * kept: free text may name the player.
 */
function sumsubDetails(review: z.infer<typeof SumsubWebhook>['reviewResult']): ResultDetails | null {
  if (review?.reviewAnswer !== 'RED') return null;
  const details: ResultDetails = {};
  if (review.reviewRejectType) details.reviewRejectType = review.reviewRejectType.slice(0, 32);
  if (review.rejectLabels?.length)
    details.rejectLabels = review.rejectLabels.slice(0, 50).map((l) => l.slice(0, 100));
  return Object.keys(details).length > 0 ? details : null;
}

function readSumsub(body: unknown): ReadDelivery {
  const p = SumsubWebhook.safeParse(body);
  if (!p.success) return { ok: false, problem: 'not a Sumsub webhook: ' + p.error.issues[0]?.message };
  const w = p.data;
  const reviewed = w.type === 'applicantReviewed';
  const result = reviewed ? sumsubResult(w.reviewResult) : null;
  const when = parseSumsubTime(w.createdAtMs ?? w.createdAt);
  return {
    ok: true,
    delivery: {
      eventType: w.type,
      dedupKey: [w.type, w.applicantId, w.inspectionId, w.correlationId, w.createdAtMs ?? w.createdAt]
        .map((x) => x ?? '')
        .join('|'),
      providerEventId: w.correlationId ?? null,
      checkId: w.applicantId ?? null,
      applicantId: w.externalUserId ?? null,
      result,
      providerTimestamp: when,
      outcome: result ? 'accepted' : 'ignored',
      // An applicantReviewed without GREEN or RED is one we cannot read, not a non-result.
      ignoredReason: result ? null : reviewed ? 'no_result' : 'not_a_result',
      details: result ? sumsubDetails(w.reviewResult) : null,
    },
  };
}

function readOnfido(body: unknown): ReadDelivery {
  const p = OnfidoWebhook.safeParse(body);
  if (!p.success) return { ok: false, problem: 'not an Onfido webhook: ' + p.error.issues[0]?.message };
  const { action, object, resource } = p.data.payload;
  const completed = action === 'check.completed';
  return {
    ok: true,
    delivery: {
      eventType: action,
      dedupKey: [action, object.id, object.completed_at_iso8601 ?? object.status]
        .map((x) => x ?? '')
        .join('|'),
      providerEventId: null,
      checkId: object.id,
      applicantId: resource?.applicant_id ?? null,
      result: null,
      providerTimestamp: isoOrNull(object.completed_at_iso8601),
      outcome: completed ? 'result_to_fetch' : 'ignored',
    },
  };
}

function readSandbox(body: unknown): ReadDelivery {
  const p = SandboxWebhook.safeParse(body);
  if (!p.success) return { ok: false, problem: 'not a sandbox webhook: ' + p.error.issues[0]?.message };
  const w = p.data;
  const isResult = w.type === 'check.completed';
  return {
    ok: true,
    delivery: {
      eventType: w.type,
      dedupKey: w.id,
      providerEventId: w.id,
      checkId: w.checkId,
      applicantId: w.applicantId,
      result: isResult ? w.result : null,
      providerTimestamp: isoOrNull(w.createdAt),
      outcome: isResult ? 'accepted' : 'ignored',
    },
  };
}

export function readProviderDelivery(provider: KycProviderName, body: unknown): ReadDelivery {
  switch (provider) {
    case 'sumsub':
      return readSumsub(body);
    case 'onfido':
      return readOnfido(body);
    case 'sandbox':
      return readSandbox(body);
  }
}
