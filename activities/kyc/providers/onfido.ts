import { failForAnswer } from '../client';
import type { CheckReadBack, KycProviderClient, PendingCheck, ProviderHttp } from './types';

export const ONFIDO_DEFAULT_BASE_URL = 'https://api.eu.onfido.com';

/**
 * Onfido's API v3.6 (documentation.onfido.com): `Authorization: Token token=<api token>`;
 * `POST /v3.6/applicants`, then `POST /v3.6/checks` with the applicant and the report names;
 * the check's `check.completed` webhook follows and its result (`clear` / `consider`) is read
 * with `GET /v3.6/checks/{id}` (see `readCheckResult`).
 *
 * Idempotency: Onfido documents no idempotency key, so a retry after a lost answer can create a
 * second applicant or check at Onfido (the one step here that is not idempotent; the
 * workflow's single check id still comes from one successful attempt).
 */
export function onfidoClient(o: {
  baseUrl: string;
  apiToken: string;
  reportNames: string[];
  http: ProviderHttp;
  now: () => Date;
}): KycProviderClient & { readCheckResult(checkId: string): Promise<CheckReadBack> } {
  const headers = { Authorization: `Token token=${o.apiToken}` };
  const post = async (path: string, body: unknown) => {
    const answer = await o.http('POST', new URL(path, o.baseUrl).toString(), {
      body: JSON.stringify(body),
      headers,
    });
    if (answer.status < 200 || answer.status >= 300) failForAnswer(answer, o.now());
    const id = (JSON.parse(answer.text) as { id?: unknown }).id;
    if (typeof id !== 'string') throw new Error(`Onfido answered ${answer.status} without an id`);
    return id;
  };
  return {
    async createCheck(req): Promise<PendingCheck> {
      // Onfido requires names, which this request does not carry (no PII leaves us here): the
      // player's names and documents reach Onfido through its own SDK flow, which completes
      // the applicant; these placeholders name the operator's player meanwhile.
      const applicantId = await post('/v3.6/applicants', {
        first_name: 'Player',
        last_name: req.applicantId,
      });
      const checkId = await post('/v3.6/checks', {
        applicant_id: applicantId,
        report_names: o.reportNames,
        tags: [req.reference.slice(0, 128)],
      });
      return { provider: 'onfido', checkId, status: 'pending' };
    },
    /**
     * `clear` is approved; `consider` needs a human: review. A `withdrawn` check never gets a
     * result (Onfido's terminal status without one): the read-back ends there. Any other status
     * (`in_progress`, `awaiting_applicant`, `paused`, `reopened`) has none yet: read again.
     */
    async readCheckResult(checkId): Promise<CheckReadBack> {
      const answer = await o.http(
        'GET',
        new URL(`/v3.6/checks/${encodeURIComponent(checkId)}`, o.baseUrl).toString(),
        {
          headers,
        },
      );
      if (answer.status !== 200) failForAnswer(answer, o.now());
      const check = JSON.parse(answer.text) as { status?: unknown; result?: unknown };
      if (check.result === 'clear') return { result: 'approved' };
      if (check.result === 'consider') return { result: 'review' };
      return check.status === 'withdrawn' ? { result: null, ended: 'check_withdrawn' } : { result: null };
    },
  };
}
