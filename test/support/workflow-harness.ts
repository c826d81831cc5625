import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  startKycSandbox,
  type KycSandbox,
  type KycSandboxOptions,
} from '../../activities/kyc/sandbox-server';
import type { Config } from '../../core/config';
import { P } from './http';
import { newOperator } from './operators';
import { startStack, type TestStack } from './stack';

/** The `data` of our webhook messages: alerts and forwarded events both name the entity and event. */
export interface WebhookData {
  externalId?: string;
  eventId?: string | null;
  [field: string]: unknown;
}

/** One request the webhook receiver got: raw body as sent (signatures cover the bytes). */
export interface ReceivedWebhook {
  at: number;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  body: { type: string; timestamp: string; data: WebhookData };
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  requests: ReceivedWebhook[];
  /** Status to answer the n-th request (1-based); 200 unless told otherwise. */
  answer: (n: number, body: ReceivedWebhook['body']) => number;
  waitFor(
    pred: (r: ReceivedWebhook) => boolean,
    count?: number,
    timeoutMs?: number,
  ): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** A real HTTP endpoint on loopback standing in for an operator's webhook receiver. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    requests: [],
    answer: () => 200,
    async waitFor(pred, count = 1, timeoutMs = 20_000) {
      return eventually(async () => {
        const hits = receiver.requests.filter(pred);
        return hits.length >= count ? hits : undefined;
      }, timeoutMs);
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(rawBody) as ReceivedWebhook['body'];
      const answered = receiver.answer(receiver.requests.length + 1, body);
      receiver.requests.push({ at: Date.now(), headers: req.headers, rawBody, body, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

/**
 * Verifies a Standard Webhooks signature the way a receiver would, written here
 * independently of core/security/webhook-signing.ts so a bug there cannot hide itself.
 */
export function verifyStandardWebhook(
  secret: string,
  w: Pick<ReceivedWebhook, 'headers' | 'rawBody'>,
): boolean {
  const id = String(w.headers['webhook-id']);
  const timestamp = String(w.headers['webhook-timestamp']);
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = Buffer.from(
    createHmac('sha256', key).update(`${id}.${timestamp}.${w.rawBody}`).digest('base64'),
  );
  return String(w.headers['webhook-signature'])
    .split(' ')
    .some((sig) => {
      const [version, value] = sig.split(',');
      const got = Buffer.from(value ?? '');
      return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
    });
}

export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A workflow's result; it may not exist yet when we ask (starts are asynchronous). */
export async function waitForResult<T = unknown>(
  stack: TestStack,
  workflowId: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await stack.temporal.workflow.getHandle(workflowId).result()) as T;
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface WorkflowHarness {
  stack: TestStack;
  kyc: KycSandbox;
  receiver: WebhookReceiver;
  close(): Promise<void>;
}

/**
 * The stack every workflow test needs: API + worker over a fresh database, the sandbox KYC
 * provider in-process (every first deposit calls it), a webhook receiver, and retry timings
 * short enough to watch in seconds.
 */
export async function startWorkflowHarness(
  o: {
    kyc?: KycSandboxOptions;
    config?: Partial<Record<keyof Config, string>>;
    /** As startStack's: false leaves the outbox to the test (`stack.dispatcher.sweep()`). */
    relay?: boolean;
    immediateStarts?: boolean;
  } = {},
): Promise<WorkflowHarness> {
  const kyc = await startKycSandbox(o.kyc);
  const receiver = await startWebhookReceiver();
  const stack = await startStack({
    worker: true,
    ...(o.relay !== undefined && { relay: o.relay }),
    ...(o.immediateStarts !== undefined && { immediateStarts: o.immediateStarts }),
    configOverrides: {
      KYC_PROVIDER_URL: kyc.url,
      HTTP_TIMEOUT_MS: '1000',
      WEBHOOK_RETRY_INITIAL_MS: '300',
      WEBHOOK_RETRY_MAX_INTERVAL_MS: '1000',
      WEBHOOK_RETRY_WINDOW_MS: '60000',
      // Out of reach unless a test sets an operator's own threshold: otherwise any test whose
      // deposits add up to 2,000 would leave a source-of-funds run waiting for 30 days.
      SOURCE_OF_FUNDS_THRESHOLD: '1000000000',
      ...o.config,
    },
  }).catch(async (err: unknown) => {
    // Leave no server behind to keep jest from exiting.
    await Promise.all([receiver.close(), kyc.close()]);
    throw err;
  });
  return {
    stack,
    kyc,
    receiver,
    close: async () => {
      await stack.close();
      await receiver.close();
      await kyc.close();
    },
  };
}

/** A new operator whose webhooks go to the harness's receiver. */
export async function operatorWithWebhook(
  h: WorkflowHarness,
  events: string[] = [],
  opts: { mode?: 'live' | 'test' } = {},
) {
  const op = await newOperator(h.stack.db.pool, h.stack.baseUrl, opts);
  const res = await op.client.put(`${P}/webhooks`, { url: h.receiver.url, events });
  if (res.status !== 200) throw new Error(`webhook set-up failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { ...op, webhookSecret: res.body.data.secret as string };
}

/** Records an event through the API; answers its id and its fan-out workflow ID. */
export async function recordEvent(
  client: Awaited<ReturnType<typeof newOperator>>['client'],
  externalId: string,
  eventType: string,
  data: Record<string, unknown>,
): Promise<{ id: string; fanoutId: string }> {
  const res = await client.post(`${P}/entities/${externalId}/events`, { eventType, data });
  if (res.status !== 201) throw new Error(`event failed: ${res.status} ${JSON.stringify(res.body)}`);
  const id = res.body.data.id as string;
  return { id, fanoutId: `entity_event.${eventType}:${id}` };
}

/** The run of one definition in an event's workflow (`processEvent`), once it has finished. */
export async function definitionRun(
  stack: TestStack,
  workflowId: string,
  definition: string,
  timeoutMs = 30_000,
): Promise<{ definition: string; status: 'completed' | 'failed'; result?: any; error?: string }> {
  const result = await waitForResult<{ runs: Array<{ definition: string; status: 'completed' | 'failed' }> }>(
    stack,
    workflowId,
    timeoutMs,
  );
  const run = result.runs.find((r) => r.definition === definition);
  if (!run) throw new Error(`${workflowId} did not run ${definition}: ${JSON.stringify(result)}`);
  return run;
}

/** The result of a definition that completed in an event's workflow. */
export async function definitionResult(
  stack: TestStack,
  workflowId: string,
  definition: string,
): Promise<any> {
  const run = await definitionRun(stack, workflowId, definition);
  if (run.status !== 'completed') throw new Error(`${definition} failed in ${workflowId}: ${run.error}`);
  return run.result;
}

/** Workflow IDs a visibility query finds, once it finds at least `atLeast` (0: answer at once). */
export async function listWorkflowIds(stack: TestStack, query: string, atLeast = 1): Promise<string[]> {
  return eventually(async () => {
    const ids: string[] = [];
    for await (const wf of stack.temporal.workflow.list({ query })) ids.push(wf.workflowId);
    return ids.length >= atLeast ? ids : undefined;
  });
}
