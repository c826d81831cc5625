import { createHmac } from 'node:crypto';
import { failForAnswer } from '../client';
import type { HttpAnswer } from '../../http';
import type { KycProviderClient, PendingCheck, ProviderHttp } from './types';

export const SUMSUB_DEFAULT_BASE_URL = 'https://api.sumsub.com';

/**
 * Sumsub's API (docs.sumsub.com, "Authentication" and "Create applicant"): every request
 * carries `X-App-Token`, `X-App-Access-Ts` (unix seconds) and `X-App-Access-Sig`, the hex
 * HMAC-SHA256 under the Secret Key of `ts + METHOD + path with query + body`.
 */
export function sumsubRequestSignature(
  secretKey: string,
  ts: number,
  method: string,
  pathAndQuery: string,
  body = '',
) {
  return createHmac('sha256', secretKey)
    .update(`${ts}${method.toUpperCase()}${pathAndQuery}${body}`)
    .digest('hex');
}

/**
 * A check at Sumsub is an applicant (keyed by our externalUserId: creating it again is refused
 * with 409, so the existing one is read instead: idempotent without a key) asked for review
 * (`POST /resources/applicants/{id}/status/pending`). Its `applicantReviewed` webhook names the
 * applicant id, which is therefore the check id we keep.
 */
export function sumsubClient(o: {
  baseUrl: string;
  appToken: string;
  secretKey: string;
  levelName: string;
  http: ProviderHttp;
  now: () => Date;
}): KycProviderClient {
  const call = (method: 'GET' | 'POST', pathAndQuery: string, body?: string) => {
    const ts = Math.floor(o.now().getTime() / 1000);
    return o.http(method, new URL(pathAndQuery, o.baseUrl).toString(), {
      body,
      headers: {
        'X-App-Token': o.appToken,
        'X-App-Access-Ts': String(ts),
        'X-App-Access-Sig': sumsubRequestSignature(o.secretKey, ts, method, pathAndQuery, body ?? ''),
      },
    });
  };
  const applicantIdOf = (answer: HttpAnswer): string => {
    const id = (safeJson(answer.text) as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string' || !id)
      throw new Error(`Sumsub answered ${answer.status} without an applicant id`);
    return id;
  };

  return {
    async createCheck(req): Promise<PendingCheck> {
      const created = await call(
        'POST',
        `/resources/applicants?levelName=${encodeURIComponent(o.levelName)}`,
        JSON.stringify({ externalUserId: req.applicantId }),
      );
      let applicantId: string;
      if (created.status === 409) {
        const found = await call(
          'GET',
          `/resources/applicants/-;externalUserId=${encodeURIComponent(req.applicantId)}/one`,
        );
        if (found.status !== 200) failForAnswer(found, o.now());
        applicantId = applicantIdOf(found);
      } else if (created.status >= 200 && created.status < 300) {
        applicantId = applicantIdOf(created);
      } else {
        failForAnswer(created, o.now());
      }
      const review = await call(
        'POST',
        `/resources/applicants/${encodeURIComponent(applicantId)}/status/pending`,
      );
      // 409: already pending or reviewed (a retry of this same step): the webhook still comes.
      if (!(review.status >= 200 && review.status < 300) && review.status !== 409)
        failForAnswer(review, o.now());
      return { provider: 'sumsub', checkId: applicantId, status: 'pending' };
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
