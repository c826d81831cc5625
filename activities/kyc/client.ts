import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { postJson, type HttpAnswer } from '../http';

/** What we ask the provider to check. No PII: the provider holds the applicant's documents. */
export interface KycCheckRequest {
  applicantId: string;
  operatorReference: string;
  /** The event that triggered the check. */
  reference: string;
  amount?: number;
  currency?: string;
}

export const KycCheck = z.object({
  id: z.string().min(1),
  status: z.enum(['approved', 'rejected', 'review']),
  createdAt: z.string(),
});
export type KycCheck = z.infer<typeof KycCheck>;

export interface KycClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  fetch: typeof fetch;
  now: () => Date;
}

/** Failure types the workflows (and the Temporal UI) see. */
export const KycFailure = {
  /** The provider refused the request itself (4xx): retrying the same request cannot help. */
  REQUEST_REJECTED: 'KycRequestRejected',
  RATE_LIMITED: 'KycRateLimited',
  PROVIDER_UNAVAILABLE: 'KycProviderUnavailable',
} as const;

/** The KYC provider's HTTP API: one call, no retries of its own (Temporal's retry policy owns them). */
export function createKycClient(o: KycClientOptions) {
  return {
    async createCheck(req: KycCheckRequest, idempotencyKey: string): Promise<KycCheck> {
      const answer = await postJson(o.fetch, new URL('/v1/checks', o.baseUrl).toString(), {
        body: JSON.stringify(req),
        headers: { Authorization: `Bearer ${o.apiKey}`, 'Idempotency-Key': idempotencyKey },
        timeoutMs: o.timeoutMs,
      });
      return readCheck(answer, o.now());
    },
  };
}

/**
 * Decides retryable or not where the failure happens: 2xx is the check; 408/409/429 and
 * 5xx are transient; any other 4xx is the provider telling us this request is wrong.
 */
export function readCheck(answer: HttpAnswer, now: Date): KycCheck {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const parsed = KycCheck.safeParse(safeJson(answer.text));
    // A malformed 2xx is the provider's bug, likely a bad deploy: worth retrying for a while.
    if (!parsed.success) throw new Error(`KYC provider answered ${status} with an unexpected body`);
    return parsed.data;
  }
  return failForAnswer(answer, now);
}

/**
 * A non-2xx answer as the failure the retry policy should see: 429 waits its Retry-After; 408,
 * 409 and 5xx are transient; any other 4xx is not retried. Shared by every provider client.
 */
export function failForAnswer(answer: HttpAnswer, now: Date): never {
  const { status } = answer;
  const detail = `KYC provider answered ${status}: ${answer.text.slice(0, 200)}`;
  if (status === 429) {
    const delayMs = retryAfterMs(answer.headers.get('retry-after'), now);
    return failWith(
      ApplicationFailure.create({ type: KycFailure.RATE_LIMITED, message: detail, nextRetryDelay: delayMs }),
    );
  }
  if (status >= 400 && status < 500 && status !== 408 && status !== 409) {
    return failWith(
      ApplicationFailure.create({
        type: KycFailure.REQUEST_REJECTED,
        message: detail,
        nonRetryable: true,
        details: [{ status }],
      }),
    );
  }
  return failWith(ApplicationFailure.create({ type: KycFailure.PROVIDER_UNAVAILABLE, message: detail }));
}

function failWith(failure: ApplicationFailure): never {
  throw failure;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const MAX_RETRY_AFTER_MS = 3_600_000;

/** `Retry-After` as delay-seconds or an HTTP date; undefined (policy backoff) when absent or unreadable. */
export function retryAfterMs(header: string | null, now: Date): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now.getTime();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
