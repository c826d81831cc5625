import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  webhookId: string;
  eventId: string | undefined;
  /** The Standard Webhooks signature checked here, independently of core/security/webhook-signing.ts. */
  signed: boolean;
}

/**
 * An operator's webhook receiver that can go down (its port closed: connections refused, as
 * for a receiver whose host is gone) and come back on the same port. Answers 204 while up.
 */
export interface SwitchableReceiver {
  url: string;
  deliveries: ReceivedDelivery[];
  /** The endpoint's secret, once known: every delivery's signature is checked against it. */
  secret: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startSwitchableReceiver(): Promise<SwitchableReceiver> {
  const deliveries: ReceivedDelivery[] = [];
  const receiver: SwitchableReceiver = {
    url: '',
    deliveries,
    secret: '',
    down: () => stop(),
    up: () => listen(port),
    close: () => stop(),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let eventId: string | undefined;
      try {
        eventId = (JSON.parse(raw) as { data?: { eventId?: string } }).data?.eventId;
      } catch {
        // recorded without an event id
      }
      const webhookId = String(req.headers['webhook-id']);
      const signed = verifies(receiver.secret, webhookId, String(req.headers['webhook-timestamp']), raw, req);
      deliveries.push({ webhookId, eventId, signed });
      res.writeHead(204).end();
    });
  });
  const listen = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${port}/hooks`;
  return receiver;
}

function verifies(
  secret: string,
  id: string,
  timestamp: string,
  body: string,
  req: http.IncomingMessage,
): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = Buffer.from(
    createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64'),
  );
  return String(req.headers['webhook-signature'])
    .split(' ')
    .some((sig) => {
      const [version, value] = sig.split(',');
      const got = Buffer.from(value ?? '');
      return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
    });
}
