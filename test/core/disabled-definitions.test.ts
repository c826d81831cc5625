import type { PoolClient } from 'pg';
import { recordEvents, type EventWrite } from '../../core/db/events';
import { planOf } from '../../core/fanout/plan';
import { newEventId } from '../../core/ids';
import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';
import { eventually } from '../support/workflow-harness';

const DEPOSIT = { type: 'deposit', amount: 50, currency: 'GBP', method: 'card' };
const ALL = ['kyc-on-deposit', 'aml-threshold', 'affordability-check', 'source-of-funds', 'operator-webhook'];

/**
 * A definition an operator switched off (PUT /workflows) is left out of the plan that the
 * recording statement writes into the outbox row, on every recording path, from the version
 * in force in that transaction; a row already written keeps its plan. Starts are off until
 * the last test, so every row stays in the outbox to be read.
 */
describe('switched-off definitions in the plan at recording time', () => {
  let stack: TestStack;
  let op: Awaited<ReturnType<typeof newOperator>>;
  beforeAll(async () => {
    stack = await startStack({ relay: false, immediateStarts: false });
    op = await newOperator(stack.db.pool, stack.baseUrl);
    // Forwarding of everything, so entity and state changes have a plan (operator-webhook).
    const hook = await op.client.put(`${P}/webhooks`, { url: 'https://example.com/hooks', events: ['*'] });
    expect(hook.status).toBe(200);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const setRules = async (body: unknown) =>
    expect((await op.client.put(`${P}/workflows`, body)).status).toBe(200);
  /** The plans of the operator's outbox rows for one entity, oldest first. */
  const plans = async (externalId: string, internalEvent = 'entity_event.%') =>
    (
      await stack.db.pool.query<{ workflow_id: string; definitions: string[] }>(
        `select workflow_id, definitions from fanout_outbox
          where operator_id = $1 and payload->>'externalId' = $2 and internal_event like $3 and start
          order by created_at, workflow_id`,
        [op.operatorId, externalId, internalEvent],
      )
    ).rows;
  const deposit = async (externalId: string) => {
    const res = await op.client.post(`${P}/entities/${externalId}/events`, {
      eventType: 'transaction',
      data: DEPOSIT,
    });
    expect(res.status).toBe(201);
    return `entity_event.transaction:${res.body.data.id as string}`;
  };

  it('leaves a switched-off definition out of single and batch events; an event recorded before keeps its plan', async () => {
    for (const p of ['single', 'batched']) await newPlayer(op.client, p);
    const before = await deposit('single');
    await setRules({ definitions: { 'kyc-on-deposit': { enabled: false } } });
    const after = await deposit('single');
    const batch = await op.client.post(`${P}/batch/events`, [
      { externalId: 'batched', eventType: 'transaction', data: DEPOSIT },
    ]);
    expect(batch.body.data.succeeded).toBe(1);

    expect(await plans('single')).toEqual([
      { workflow_id: before, definitions: ALL },
      {
        workflow_id: after,
        definitions: ['aml-threshold', 'affordability-check', 'source-of-funds', 'operator-webhook'],
      },
    ]);
    expect((await plans('batched')).map((r) => r.definitions)).toEqual([
      ['aml-threshold', 'affordability-check', 'source-of-funds', 'operator-webhook'],
    ]);

    // Switched on again: the next event plans it again.
    await setRules({});
    const third = await deposit('single');
    expect((await plans('single')).find((r) => r.workflow_id === third)?.definitions).toEqual(ALL);
  });

  it('queues no workflow for entity and state changes whose only definition is switched off', async () => {
    await setRules({ definitions: { 'operator-webhook': { enabled: false } } });
    const entity = { entityType: 'player', externalId: 'quiet', data: { email: 'q@example.com' } };
    expect((await op.client.post(`${P}/entities`, entity)).status).toBe(201);
    expect((await op.client.post(`${P}/batch/entities`, [{ ...entity, externalId: 'quiet-2' }])).status).toBe(
      200,
    );
    expect((await op.client.put(`${P}/entities/quiet/state/loyalty_tier`, { value: 'gold' })).status).toBe(
      200,
    );
    const states = await op.client.post(`${P}/batch/states`, [
      { externalId: 'quiet-2', key: 'loyalty_tier', value: 'gold' },
    ]);
    expect(states.body.data.succeeded).toBe(1);
    expect((await op.client.delete(`${P}/entities/quiet`)).status).toBe(200);
    for (const id of ['quiet', 'quiet-2']) expect(await plans(id, 'entity%')).toEqual([]);

    // The same writes with it switched on are each queued, with the forwarding planned.
    await setRules({});
    expect((await op.client.post(`${P}/entities`, { ...entity, externalId: 'loud' })).status).toBe(201);
    expect((await op.client.put(`${P}/entities/loud/state/loyalty_tier`, { value: 'gold' })).status).toBe(
      200,
    );
    expect((await plans('loud', 'entity%')).map((r) => r.definitions)).toEqual([
      ['operator-webhook'],
      ['operator-webhook'],
    ]);
  });

  it('looks the settings up only for a non-empty plan: game rounds that plan nothing cost no call', async () => {
    const quiet = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(quiet.client, 'gamer');
    const write = (eventType: string, data: Record<string, unknown>): EventWrite => ({
      id: newEventId(),
      operatorId: quiet.operatorId,
      externalId: 'gamer',
      eventType,
      data,
      plan: planOf(`entity_event.${eventType}`, { operatorId: quiet.operatorId, externalId: 'gamer', data }),
    });
    const calls = async (client: PoolClient, items: EventWrite[]) => {
      await recordEvents(client, items);
      const { rows } = await client.query<{ n: string | null }>(
        `select pg_stat_get_xact_function_calls('fanout_enabled_plan'::regproc) as n`,
      );
      return Number(rows[0]!.n ?? 0);
    };
    const client = await stack.db.pool.connect();
    try {
      await client.query('begin');
      // Counts calls of SQL functions too, for this transaction only.
      await client.query(`set local track_functions = 'all'`);
      const round = { game_id: 'starburst', bet_amount: 1 };
      expect(await calls(client, [write('game_activity', round), write('game_activity', round)])).toBe(0);
      expect(await calls(client, [write('transaction', DEPOSIT)])).toBe(1);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('starts a workflow recorded before a switch-off with its own plan, in input and Definitions', async () => {
    await newPlayer(op.client, 'late');
    const before = await deposit('late');
    await setRules({ definitions: { 'aml-threshold': { enabled: false } } });
    const after = await deposit('late');
    // Started only now, after the change, by the relay: each with the plan it was recorded with.
    stack.dispatcher.startRelay();
    const definitionsOf = (workflowId: string) =>
      eventually(async () => {
        try {
          return (await stack.temporal.workflow.getHandle(workflowId).describe()).searchAttributes
            .Definitions;
        } catch {
          return undefined;
        }
      });
    expect(await definitionsOf(before)).toEqual(ALL);
    expect(await definitionsOf(after)).toEqual([
      'kyc-on-deposit',
      'affordability-check',
      'source-of-funds',
      'operator-webhook',
    ]);
    const input = async (workflowId: string) => {
      const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      return (JSON.parse(Buffer.from(payload!.data!).toString('utf8')) as { definitions: string[] })
        .definitions;
    };
    expect(await input(before)).toEqual(ALL);
    expect(await input(after)).toEqual([
      'kyc-on-deposit',
      'affordability-check',
      'source-of-funds',
      'operator-webhook',
    ]);
  });
});
