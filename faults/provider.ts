import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import type { SandboxCall, SandboxCheck } from '../activities/kyc/sandbox-server';

/** What the KYC sandbox process saw, read over its GET endpoints. */
export async function sandboxState(url: string): Promise<{ checks: SandboxCheck[]; calls: SandboxCall[] }> {
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(url + path, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as T;
  };
  const [{ checks }, { calls }] = await Promise.all([
    get<{ checks: SandboxCheck[] }>('/v1/checks'),
    get<{ calls: SandboxCall[] }>('/v1/calls'),
  ]);
  return { checks, calls };
}

export interface Delivery {
  webhookId: string;
  eventId: string | undefined;
}

/** The operator's webhook endpoint: records every delivery and answers 204. */
export async function startWebhookReceiver(): Promise<{
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}> {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let eventId: string | undefined;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { eventId?: string } };
        eventId = body.data?.eventId;
      } catch {
        // recorded without an event id
      }
      deliveries.push({ webhookId: String(req.headers['webhook-id']), eventId });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Events of this operator whose KYC outcome the workflow has written to the entity's state. */
export async function kycRecorded(pool: Pool, operatorId: string): Promise<Set<string>> {
  const { rows } = await pool.query<{ event_id: string | null }>(
    `select value->>'eventId' as event_id from entity_states where operator_id = $1 and state_key = 'kyc_status'`,
    [operatorId],
  );
  return new Set(rows.flatMap((r) => (r.event_id ? [r.event_id] : [])));
}

/** Per event (the check's `reference`): checks created and calls made at the provider. */
export function effectsPerEvent(
  state: { checks: SandboxCheck[]; calls: SandboxCall[] },
  eventIds: string[],
): Array<{ eventId: string; checks: number; keys: number }> {
  return eventIds.map((eventId) => {
    const checks = state.checks.filter((c) => c.reference === eventId);
    return { eventId, checks: checks.length, keys: new Set(checks.map((c) => c.idempotencyKey)).size };
  });
}
