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

/** The three headers of one delivery attempt. The timestamp is the attempt's, in unix seconds. */
export function webhookHeaders(m: {
  secret: string;
  id: string;
  timestamp: number;
  body: string;
}): Record<string, string> {
  return {
    'webhook-id': m.id,
    'webhook-timestamp': String(m.timestamp),
    'webhook-signature': signWebhook(m),
  };
}
