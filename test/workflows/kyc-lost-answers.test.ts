import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startKycSandbox, type KycSandbox } from '../../activities/kyc/sandbox-server';
import { P } from '../support/http';
import { newPlayer } from '../support/operators';
import {
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  definitionResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

/**
 * A real HTTP hop in front of the sandbox provider that passes every check request on, so
 * the provider creates the check, but answers the first two for each Idempotency-Key with a
 * 503 of its own: the provider's side effect happened, its answer was lost. Only the key
 * can then keep the retries from creating more checks.
 */
async function startLossyHop(target: string) {
  const seen = new Map<string, number>();
  const answered: Array<{ key: string; status: number }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([k]) =>
            ['authorization', 'content-type', 'idempotency-key'].includes(k),
          ),
        ) as Record<string, string>;
        const upstream = await fetch(`${target}${req.url ?? '/'}`, {
          method: req.method,
          headers,
          body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
        });
        const body = await upstream.text();
        const key = headers['idempotency-key'] ?? '';
        const n = (seen.get(key) ?? 0) + 1;
        seen.set(key, n);
        const lost = req.method === 'POST' && upstream.ok && n <= 2;
        const status = lost ? 503 : upstream.status;
        answered.push({ key, status });
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(lost ? JSON.stringify({ error: 'upstream answer lost' }) : body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('kyc-on-deposit against a provider whose answers are lost', () => {
  let provider: KycSandbox;
  let hop: Awaited<ReturnType<typeof startLossyHop>>;
  let h: WorkflowHarness;

  beforeAll(async () => {
    provider = await startKycSandbox();
    hop = await startLossyHop(provider.url);
    h = await startWorkflowHarness({ config: { KYC_PROVIDER_URL: hop.url } });
  });
  afterAll(async () => {
    await h?.close();
    await hop?.close();
    await provider?.close();
  });

  it('fails twice after the provider created the check, then succeeds: one check, thanks to the Idempotency-Key', async () => {
    const op = await operatorWithWebhook(h, [], { mode: 'test' });
    await newPlayer(op.client, 'lost_answers_1');
    const ev = await recordEvent(op.client, 'lost_answers_1', 'transaction', {
      type: 'deposit',
      amount: 40,
      currency: 'GBP',
    });
    // The provider's Idempotency-Key is the event's workflow ID, the same on every attempt.
    const kycWorkflowId = ev.fanoutId;

    expect(await definitionResult(h.stack, ev.fanoutId, 'kyc-on-deposit')).toMatchObject({
      checked: true,
      status: 'approved',
    });
    // What the workflow saw: two failures, then the answer; all three with the same key.
    expect(hop.answered).toEqual([
      { key: kycWorkflowId, status: 503 },
      { key: kycWorkflowId, status: 503 },
      { key: kycWorkflowId, status: 200 },
    ]);
    // What the provider did: created the check on the first call and replayed it afterwards.
    const calls = provider.calls.filter((c) => c.applicantId === 'lost_answers_1');
    expect(calls.map((c) => c.status)).toEqual([201, 200, 200]);
    const checks = provider.checks.filter((c) => c.applicantId === 'lost_answers_1');
    expect(checks).toHaveLength(1);
    const state = await op.client.get(`${P}/entities/lost_answers_1/state/kyc_status`);
    expect(state.body.data.value).toMatchObject({
      status: 'approved',
      checkId: checks[0]!.id,
      eventId: ev.id,
    });
  });
});
