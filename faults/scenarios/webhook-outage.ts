import type { Pool } from 'pg';
import { API_PREFIX as P } from '../../api/openapi';
import { waitForQuiet } from '../kyc-in-flight';
import { sessionEvent, startLoad } from '../load';
import { newRunOperator, players } from '../operator';
import { countBy, describeLoad, expect, noLossExpectations, sleep, type Scenario } from '../scenario';
import { verifyRun } from '../verify';
import { startSwitchableReceiver } from '../webhook-receiver';

const CONCURRENCY = 4;

/**
 * The worker's webhook settings for this scenario only: a retry window of seconds instead of a
 * day, so the receiver can be down for longer than it within a run, and an auto-disable period
 * shorter than the outage, so the endpoint is disabled while down and the messages after that
 * are kept as failed without being tried.
 */
const settings = (quick: boolean) => ({
  WEBHOOK_RETRY_INITIAL_MS: '1000',
  WEBHOOK_RETRY_MAX_INTERVAL_MS: '2000',
  WEBHOOK_RETRY_WINDOW_MS: quick ? '6000' : '15000',
  WEBHOOK_AUTO_DISABLE_AFTER_MS: quick ? '10000' : '25000',
});

async function api(apiUrl: string, apiKey: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${apiUrl}${P}${path}`, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json()) as { data?: Record<string, unknown> };
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json.data ?? {};
}

async function logCounts(pool: Pool, endpointId: string) {
  const { rows } = await pool.query<{ status: string; n: number; not_sent: number }>(
    `select m.status, count(*)::int as n,
            count(*) filter (where exists (select 1 from webhook_attempts a
                                            where a.message_row = m.id and a.error like 'not sent:%'))::int as not_sent
       from webhook_messages m where m.endpoint_id = $1 group by m.status`,
    [endpointId],
  );
  const of = (s: string) => rows.find((r) => r.status === s);
  return {
    total: rows.reduce((n, r) => n + r.n, 0),
    pending: of('pending')?.n ?? 0,
    failed: of('failed')?.n ?? 0,
    delivered: of('delivered')?.n ?? 0,
    notSent: rows.reduce((n, r) => n + r.not_sent, 0),
  };
}

async function until<T>(timeoutMs: number, probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await sleep(1000);
  }
}

/**
 * f. The operator's webhook receiver is down (connections refused) for longer than the retry
 * window, under load. Each message is retried until the window ends and is then logged as
 * failed; the endpoint is disabled automatically meanwhile and the later messages are kept as
 * failed untried. Once the receiver is back, the endpoint is enabled and `recover` redelivers
 * every failed message: each event's webhook must arrive exactly once, correctly signed.
 */
export const webhookOutage: Scenario = {
  id: 'f',
  name: 'Webhook receiver down past the retry window, then recover',
  async run({ stack, quick, log }) {
    const downMs = quick ? 20_000 : 45_000;
    const rate = quick ? 3 : 5;
    const s = settings(quick);
    const receiver = await startSwitchableReceiver();
    await stack.worker.signal('SIGTERM');
    await stack.worker.start(s);
    log(
      `worker restarted with ${Object.entries(s)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
    try {
      const op = await newRunOperator(stack.pool, stack.apiUrl, 'f', players('pf', 10));
      await waitForQuiet(stack, 120_000);
      const ep = await api(stack.apiUrl, op.apiKey, 'POST', '/webhooks/endpoints', {
        url: receiver.url,
        events: ['entity_event.*'],
      });
      const endpointId = String(ep.id);
      receiver.secret = String(ep.secret);
      const since = new Date(Date.now() - 1000).toISOString();

      await receiver.down();
      const downAt = Date.now();
      const load = startLoad({
        apiUrl: stack.apiUrl,
        apiKey: op.apiKey,
        players: op.players,
        concurrency: CONCURRENCY,
        rate,
        event: sessionEvent,
      });
      await sleep(downMs);
      const { outcomes, seconds } = await load.stop();
      const tally = await verifyRun(stack.pool, stack.temporal, op.operatorId, outcomes, 120_000, log);
      const acked = outcomes.flatMap((o) => (o.eventId ? [o.eventId] : []));
      // Every message has given up (or was kept untried) before the receiver comes back.
      const before = await until(
        Number(s.WEBHOOK_RETRY_WINDOW_MS) + 120_000,
        () => logCounts(stack.pool, endpointId),
        (c) => c.total >= acked.length && c.pending === 0,
      );
      const { rows: epRows } = await stack.pool.query<{ enabled: boolean; disabled_reason: string | null }>(
        'select enabled, disabled_reason from webhook_endpoints where id = $1',
        [endpointId],
      );
      const autoDisabled = epRows[0]?.enabled === false && epRows[0]?.disabled_reason === 'failing';
      await receiver.up();
      const outageMs = Date.now() - downAt;
      log(`receiver back after ${(outageMs / 1000).toFixed(0)} s; log: ${JSON.stringify(before)}`);

      await api(stack.apiUrl, op.apiKey, 'PATCH', `/webhooks/endpoints/${endpointId}`, { enabled: true });
      const recoverStarted = Date.now();
      const run = await api(stack.apiUrl, op.apiKey, 'POST', `/webhooks/endpoints/${endpointId}/recover`, {
        since,
      });
      const result = (await stack.temporal.workflow.getHandle(String(run.workflowId)).result()) as {
        recovered: number;
        stoppedAt?: string;
      };
      const recoverSeconds = (Date.now() - recoverStarted) / 1000;
      await sleep(5000); // anything still retrying would arrive now, as a second delivery
      const after = await logCounts(stack.pool, endpointId);

      const perEvent = new Map<string, number>();
      for (const d of receiver.deliveries)
        if (d.eventId) perEvent.set(d.eventId, (perEvent.get(d.eventId) ?? 0) + 1);
      const missing = acked.filter((id) => !perEvent.has(id));
      const twice = acked.filter((id) => (perEvent.get(id) ?? 0) > 1);
      const unsigned = receiver.deliveries.filter((d) => !d.signed).length;
      return {
        id: 'f',
        scenario: this.name,
        load: describeLoad(CONCURRENCY, outcomes, seconds),
        fault: `receiver's port closed for ${(outageMs / 1000).toFixed(0)} s (retry window ${Number(s.WEBHOOK_RETRY_WINDOW_MS) / 1000} s, auto-disable after ${Number(s.WEBHOOK_AUTO_DISABLE_AFTER_MS) / 1000} s); then enable + recover`,
        tally,
        measurements: [
          `answers: ${countBy(outcomes)}`,
          `delivery log before recover: ${before.failed} failed (${before.notSent} of them kept untried after the endpoint was disabled automatically), ${before.pending} pending, ${before.delivered} delivered`,
          `endpoint disabled automatically during the outage: ${autoDisabled ? 'yes' : 'no'}`,
          `recover: ${result.recovered} messages redelivered in ${recoverSeconds.toFixed(1)} s${result.stoppedAt ? `, stopped at ${result.stoppedAt}` : ''}`,
          `receiver: ${receiver.deliveries.length} deliveries for ${acked.length} events, ${unsigned} with a bad signature`,
          `delivery log after recover: ${after.delivered} delivered, ${after.failed} failed, ${after.pending} pending`,
        ],
        expectations: [
          ...noLossExpectations(tally),
          expect(
            'every message failed or was kept while the receiver was down (none delivered, none left pending)',
            before.total === acked.length && before.failed === acked.length && before.pending === 0,
            `${before.failed} failed of ${acked.length}, ${before.pending} pending`,
          ),
          expect(
            'the endpoint was disabled automatically during the outage',
            autoDisabled,
            String(epRows[0]?.disabled_reason),
          ),
          expect(
            'recover brought back every failed message',
            result.recovered === before.failed && !result.stoppedAt,
            `${result.recovered} of ${before.failed}`,
          ),
          expect(
            "each event's webhook arrived exactly once",
            missing.length === 0 && twice.length === 0,
            `${acked.length - missing.length}/${acked.length} arrived, ${missing.length} missing, ${twice.length} twice`,
          ),
          expect('every delivery carries a valid signature', unsigned === 0, `${unsigned} bad`),
        ],
      };
    } finally {
      await receiver.close();
      // The other scenarios run with the stack's own webhook settings.
      await stack.worker.signal('SIGTERM');
      await stack.worker.start();
    }
  },
};
