import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing: the signature covers
 * `${id}.${timestamp}.${body}` with HMAC-SHA256 under the secret's bytes (base64 after `whsec_`).
 */
export function signWebhook(m: { secret: string; id: string; timestamp: number; body: string }): string {
  const key = Buffer.from(
    m.secret.startsWith('whsec_') ? m.secret.slice('whsec_'.length) : m.secret,
    'base64',
  );
  const mac = createHmac('sha256', key).update(`${m.id}.${m.timestamp}.${m.body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * The three headers of one delivery attempt. The timestamp is the attempt's, in unix seconds.
 * During a rotation's grace both secrets sign: the signatures space-separated, the current
 * one first, as Standard Webhooks allows (a receiver accepts any one that verifies).
 */
export function webhookHeaders(m: {
  secret: string;
  previousSecret?: string;
  id: string;
  timestamp: number;
  body: string;
}): Record<string, string> {
  const signatures = [signWebhook(m)];
  if (m.previousSecret) signatures.push(signWebhook({ ...m, secret: m.previousSecret }));
  return {
    'webhook-id': m.id,
    'webhook-timestamp': String(m.timestamp),
    'webhook-signature': signatures.join(' '),
  };
}
