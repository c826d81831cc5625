import { P } from '../support/http';
import { newOperator, newPlayer } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';
import { eventually } from '../support/workflow-harness';

/**
 * Upgrading with a backlog: outbox rows written before migration 005 have no plan (null
 * `definitions`). The relay starts them as the retired `fanOut`, which decides its children
 * itself, so nothing queued before the upgrade is lost or run without its definitions.
 */
describe('outbox rows queued before plans existed', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: true, immediateStarts: false });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('are started as the retired fanOut workflow, which runs the matching definitions as children', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    await newPlayer(op.client, 'legacy-player');
    const res = await op.client.post(`${P}/entities/legacy-player/events`, {
      eventType: 'block',
      data: { reason: 'player request' },
    });
    expect(res.status).toBe(201);
    const workflowId = `entity_event.block:${res.body.data.id}`;
    // As the row looked before migration 005, and due now.
    const { rowCount } = await stack.db.pool.query(
      'update fanout_outbox set definitions = null, next_attempt_at = clock_timestamp() where workflow_id = $1',
      [workflowId],
    );
    expect(rowCount).toBe(1);
    const handle = stack.temporal.workflow.getHandle(workflowId);
    const result = await eventually(
      () =>
        handle.result().then(
          (r) => r as { runs: Array<{ definition: string; workflowId?: string; status: string }> },
          () => undefined,
        ),
      30_000,
    );
    expect((await handle.describe()).type).toBe('fanOut');
    // In name order, as fanOut started its children.
    expect(result.runs.map((r) => [r.definition, r.status, r.workflowId])).toEqual([
      ['operator-webhook', 'completed', `${workflowId}/operator-webhook`],
      ['self-exclusion', 'completed', `${workflowId}/self-exclusion`],
    ]);
  });
});
