import { failForAnswer } from '../client';
import type { KycProviderClient, PendingCheck, ProviderHttp } from './types';

/**
 * The sandbox provider's asynchronous API (../sandbox-server.ts `POST /v2/checks`): Bearer key,
 * Idempotency-Key honoured, answers `pending`; the result comes by webhook to `callback.url`,
 * signed with `callback.secret` (the connection's webhook secret: the sandbox has no dashboard).
 */
export function sandboxClient(o: {
  baseUrl: string;
  apiKey: string;
  callback: { url: string; secret: string };
  http: ProviderHttp;
  now: () => Date;
}): KycProviderClient {
  return {
    async createCheck(req, idempotencyKey): Promise<PendingCheck> {
      const answer = await o.http('POST', new URL('/v2/checks', o.baseUrl).toString(), {
        body: JSON.stringify({
          applicantId: req.applicantId,
          reference: req.reference,
          callback: o.callback,
        }),
        headers: { Authorization: `Bearer ${o.apiKey}`, 'Idempotency-Key': idempotencyKey },
      });
      if (answer.status < 200 || answer.status >= 300) failForAnswer(answer, o.now());
      const id = (JSON.parse(answer.text) as { id?: unknown }).id;
      if (typeof id !== 'string') throw new Error(`KYC sandbox answered ${answer.status} without a check id`);
      return { provider: 'sandbox', checkId: id, status: 'pending' };
    },
  };
}
