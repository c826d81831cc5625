import { startStack, type TestStack } from '../support/stack';
import { newOperator, newPlayer } from '../support/operators';
import { P } from '../support/http';

describe('HTTP → Postgres → Temporal', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: true });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('records a deposit with 201 and completes workflow entity_event.transaction:<id> with search attributes', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'player_12345');

    const res = await op.client.post(
      `${P}/entities/player_12345/events`,
      {
        eventType: 'transaction',
        data: {
          type: 'deposit',
          amount: 100.0,
          currency: 'GBP',
          method: 'card',
          provider: 'stripe',
          reference: 'txn_abc123',
          card_last4: '4242',
        },
      },
      { 'Idempotency-Key': 'deposit-txn-abc123' },
    );
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ success: true, data: { id: expect.stringMatching(/^eev_[0-9a-f]{16}$/) } });

    const workflowId = `entity_event.transaction:${res.body.data.id}`;
    const handle = stack.temporal.workflow.getHandle(workflowId);
    const result = await waitForResult(stack, workflowId);
    expect(result).toMatchObject({ internalEvent: 'entity_event.transaction' });

    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.type).toBe('processEvent');
    expect(description.searchAttributes).toMatchObject({
      OperatorId: [op.operatorId],
      EntityExternalId: ['player_12345'],
      EventType: ['transaction'],
      InternalEvent: ['entity_event.transaction'],
    });
  });
});

/** The workflow may not exist yet when we ask (the start is asynchronous to the 201). */
async function waitForResult(stack: TestStack, workflowId: string): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await stack.temporal.workflow.getHandle(workflowId).result();
    } catch (err) {
      if ((err as Error).name !== 'WorkflowNotFoundError' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
