import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { actionsOf } from '../lib/actions';
import { fmt, type BenchContext } from '../lib/context';
import { sleep } from '../lib/measure';
import { createPlayer, newOperator, type BenchOperator } from '../lib/stack';
import { drainOutbox } from './fanout';

interface Kind {
  name: string;
  /** Records one unit of this kind for `externalId` (a player created beforehand). */
  record: (op: BenchOperator, externalId: string) => Promise<void>;
  /** Workflows per unit at most, and Actions per unit at most (the issue's targets). */
  target: { workflows: number; actions: number };
  /**
   * Whose event: `quiet` has no webhook endpoint, `alerts` one endpoint subscribed to nothing
   * (alerts still go to it), `loud` one subscribed to every internal event, `sof` one with
   * source-of-funds at 100 with a 10 s deadline (so its waits end in seconds) and one endpoint,
   * `kyc` no endpoint. `alerts` and `kyc` have a sandbox provider connection (issue 22's flow:
   * pending, then the result by signed webhook); the others, live without one, get
   * `kyc_not_configured` (an alert, delivered only where an endpoint takes alerts).
   */
  op?: 'quiet' | 'alerts' | 'loud' | 'sof' | 'kyc';
}

const UNITS = 3;

/**
 * Temporal Actions per kind of event, counted from the histories of every workflow the event
 * caused (its own and any its activities started), against the floor: one empty workflow
 * started by a client, which is 1 Action (counted from a floor workflow's history in the same
 * run by bench/baselines/temporal-floor.ts when `e2e` runs; by definition otherwise).
 */
export async function actionsPerEvent(ctx: BenchContext): Promise<void> {
  const receiver = await startReceiver();
  try {
    const quiet = ctx.op;
    const loud = await newOperator(ctx.s, 'bench-subscribed');
    await call(ctx, loud, 'PUT', '/webhooks', {
      url: receiver.url,
      events: ['entity_event.*', 'entity.*', 'entity_state.*'],
    });
    const alerted = await newOperator(ctx.s, 'bench-alerts');
    await call(ctx, alerted, 'PUT', '/webhooks', { url: receiver.url, events: [] });
    // Its 5,000 deposit would ask for source of funds and wait 30 days; the waiting rows below
    // count that definition on its own.
    await call(ctx, alerted, 'PUT', '/workflows', { definitions: { 'source-of-funds': { enabled: false } } });
    await call(ctx, alerted, 'POST', '/providers/connections', { provider: 'sandbox' });
    const kycOp = await newOperator(ctx.s, 'bench-kyc');
    await call(ctx, kycOp, 'POST', '/providers/connections', { provider: 'sandbox' });
    const sof = await newOperator(ctx.s, 'bench-sof');
    await call(ctx, sof, 'PUT', '/webhooks', { url: receiver.url, events: [] });
    // The reminder falls after the deadline: none is sent, so each row counts one wait's own cost.
    await call(ctx, sof, 'PUT', '/workflows', {
      parameters: { sourceOfFundsThreshold: 100, sourceOfFundsDeadline: '10s', sourceOfFundsReminder: '1h' },
    });
    const opOf = (kind: Kind) => ({ loud, alerts: alerted, sof, quiet, kyc: kycOp })[kind.op ?? 'quiet'];
    /** Records a deposit that asks for source of funds, and waits until its wait is open. */
    const asked = async (op: BenchOperator, id: string) => {
      await post(op, id, 'transaction', { type: 'deposit', amount: 150, currency: 'EUR' });
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { rows } = await ctx.s.pool.query(
          'select 1 from entity_waits where operator_id = $1 and external_id = $2',
          [op.operatorId, id],
        );
        if (rows.length > 0) return;
        if (Date.now() > deadline) throw new Error(`no source-of-funds wait opened for ${id}`);
        await sleep(100);
      }
    };
    const post = (op: BenchOperator, id: string, eventType: string, data: Record<string, unknown>) =>
      call(ctx, op, 'POST', `/entities/${id}/events`, { eventType, data });
    const kinds: Kind[] = [
      {
        name: 'game round, nothing subscribed',
        record: (op, id) =>
          post(op, id, 'game_activity', { game_id: 'slot', bet_amount: 2.5, round_id: 'r1' }),
        target: { workflows: 1, actions: 2 },
      },
      {
        name: 'login, nothing subscribed',
        record: (op, id) => post(op, id, 'session', { action: 'login', country: 'GB' }),
        target: { workflows: 1, actions: 2 },
      },
      {
        name: 'first deposit, no KYC provider connection (kyc_not_configured, no endpoint; under the AML and affordability thresholds)',
        record: (op, id) => post(op, id, 'transaction', { type: 'deposit', amount: 50, currency: 'GBP' }),
        target: { workflows: 1, actions: 10 },
      },
      {
        name: 'first deposit with a sandbox provider connection (KYC pending, waits for the signed webhook: approved; with the result’s own kyc-result workflow)',
        record: (op, id) => post(op, id, 'transaction', { type: 'deposit', amount: 50, currency: 'GBP' }),
        // The first deposit's target from before the provider flow (issue 22 added the wait and kyc-result).
        target: { workflows: 1, actions: 10 },
        op: 'kyc',
      },
      {
        name: 'first deposit flagged by all three (KYC review by webhook, AML, affordability: 3 alerts to 1 endpoint; source-of-funds off)',
        record: (op, id) =>
          post(op, `review_${id}`, 'transaction', { type: 'deposit', amount: 5000, currency: 'GBP' }),
        target: { workflows: 1, actions: 10 },
        op: 'alerts',
      },
      {
        name: 'self-exclusion (flag + alert to 1 endpoint)',
        record: (op, id) => post(op, id, 'block', { reason: 'player request' }),
        target: { workflows: 1, actions: 10 },
        op: 'alerts',
      },
      {
        name: 'state update, nothing subscribed',
        record: (op, id) => call(ctx, op, 'PUT', `/entities/${id}/state/loyalty_tier`, { value: 'gold' }),
        target: { workflows: 0, actions: 0 },
      },
      {
        name: 'entity update, nothing subscribed',
        record: (op, id) =>
          call(ctx, op, 'POST', '/entities', {
            entityType: 'player',
            externalId: id,
            data: { email: `${id}@example.com`, country: 'IE' },
          }),
        target: { workflows: 0, actions: 0 },
      },
      {
        name: 'deposit that waits for source of funds, verdict by state update (satisfied)',
        record: async (op, id) => {
          await asked(op, id);
          await call(ctx, op, 'PUT', `/entities/${id}/state/sof_status`, { value: 'verified' });
        },
        target: { workflows: 1, actions: 16 },
        op: 'sof',
      },
      {
        name: 'deposit that waits for source of funds, no verdict (timed out: overdue + critical alert)',
        record: (op, id) => asked(op, id),
        target: { workflows: 1, actions: 18 },
        op: 'sof',
      },
      {
        name: 'deposit that waits for source of funds, then a self-exclusion (cancelled; both events)',
        record: async (op, id) => {
          await asked(op, id);
          await post(op, id, 'block', { type: 'self_exclusion' });
        },
        target: { workflows: 2, actions: 22 },
        op: 'sof',
      },
      {
        name: 'game round forwarded to a subscribed endpoint',
        record: (op, id) =>
          post(op, id, 'game_activity', { game_id: 'slot', bet_amount: 2.5, round_id: 'r1' }),
        target: { workflows: 1, actions: 2 },
        op: 'loud',
      },
    ];
    const entities = new Map<string, string[]>();
    for (const [k, kind] of kinds.entries()) {
      const op = opOf(kind);
      const ids: string[] = [];
      for (let u = 0; u < UNITS; u++) {
        const id = `actions-${k}-${u}`;
        // The flagged deposit's player needs the sandbox's `review` prefix.
        const entity = kind.name.startsWith('first deposit flagged') ? `review_${id}` : id;
        await createPlayer(ctx.api.url!, op, entity);
        ids.push(entity);
      }
      entities.set(kind.name, ids);
    }
    // Let the players' own creation settle first (a subscribed operator's entity.created).
    await settle(ctx, [quiet, alerted, loud, sof, kycOp]);
    const before = new Map<string, Set<string>>();
    for (const kind of kinds)
      before.set(kind.name, await workflowIds(ctx, opOf(kind), entities.get(kind.name)!));
    for (const [k, kind] of kinds.entries()) {
      const op = opOf(kind);
      for (let u = 0; u < UNITS; u++) await kind.record(op, `actions-${k}-${u}`);
    }
    await settle(ctx, [quiet, alerted, loud, sof, kycOp]);
    for (const kind of kinds) {
      const op = opOf(kind);
      const ids = [...(await workflowIds(ctx, op, entities.get(kind.name)!))].filter(
        (id) => !before.get(kind.name)!.has(id),
      );
      let actions = 0;
      for (const id of ids) actions += actionsOf(await ctx.s.temporal.workflow.getHandle(id).fetchHistory());
      const perUnit = { workflows: ids.length / UNITS, actions: actions / UNITS };
      ctx.log(
        `actions: ${kind.name}: ${fmt(perUnit.workflows, 1)} workflows, ${fmt(perUnit.actions, 1)} Actions per event`,
      );
      ctx.rows.push({
        benchmark: 'Temporal Actions',
        metric: `per event: ${kind.name}`,
        measured: `${fmt(perUnit.workflows, 1)} workflow(s), ${fmt(perUnit.actions, 1)} Actions`,
        baseline: '1 Action (an empty workflow started by a client)',
        ratio: `${fmt(perUnit.actions, 1)}×`,
        target: `≤ ${kind.target.workflows} workflow(s), ≤ ${kind.target.actions} Actions`,
        pass: perUnit.workflows <= kind.target.workflows && perUnit.actions <= kind.target.actions,
      });
    }
  } finally {
    await receiver.close();
  }
}

async function call(
  ctx: BenchContext,
  op: BenchOperator,
  method: string,
  path: string,
  body: unknown,
): Promise<void> {
  const res = await fetch(`${ctx.api.url}/operator-data-api${path}`, {
    method,
    headers: { authorization: `Bearer ${op.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
}

async function workflowIds(ctx: BenchContext, op: BenchOperator, entities: string[]): Promise<Set<string>> {
  const ids = new Set<string>();
  const list = entities.map((e) => `'${e}'`).join(', ');
  for await (const wf of ctx.s.temporal.workflow.list({
    query: `OperatorId = '${op.operatorId}' AND EntityExternalId IN (${list})`,
  }))
    ids.add(wf.workflowId);
  return ids;
}

/** Until the outbox is empty and neither operator has a running workflow, three polls in a row. */
async function settle(ctx: BenchContext, ops: BenchOperator[]): Promise<void> {
  await drainOutbox(ctx, 120_000);
  const query = `(${ops.map((o) => `OperatorId = '${o.operatorId}'`).join(' OR ')}) AND ExecutionStatus = 'Running'`;
  let quiet = 0;
  const deadline = Date.now() + 120_000;
  while (quiet < 3) {
    if (Date.now() > deadline) throw new Error('workflows still running after 120 s');
    quiet = (await ctx.s.temporal.workflow.count(query)).count === 0 ? quiet + 1 : 0;
    await sleep(500);
  }
}

/** A loopback webhook receiver that accepts everything. */
async function startReceiver(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
