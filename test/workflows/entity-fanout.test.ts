import type { FanoutResult } from '../../workflows/types';
import { P } from '../support/http';
import {
  eventually,
  operatorWithWebhook,
  startWorkflowHarness,
  listWorkflowIds,
  verifyStandardWebhook,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(60_000);

const PII = {
  email: 'lifecycle.jane@example.com',
  first_name: 'Janeentity',
  last_name: 'Doeentity',
  phone: '+447700900123',
};

describe('entity.created / entity.updated / entity.deleted / entity_state.updated.<key> fan out like events', () => {
  let h: WorkflowHarness;

  beforeAll(async () => {
    h = await startWorkflowHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gives each subscribed change exactly one processEvent workflow through the outbox, forwarded as a signed webhook without PII', async () => {
    const op = await operatorWithWebhook(h, ['entity.*', 'entity_state.*']);
    const entity = (data: Record<string, unknown>) =>
      op.client.post(`${P}/entities`, { entityType: 'player', externalId: 'lifecycle_1', data });
    const fanoutsOf = async (internalEvent: string) => {
      const ids: string[] = [];
      for await (const wf of h.stack.temporal.workflow.list({
        query: `WorkflowType = 'processEvent' AND OperatorId = '${op.operatorId}' AND InternalEvent = '${internalEvent}'`,
      }))
        ids.push(wf.workflowId);
      return ids.length > 0 ? ids : undefined;
    };

    expect((await entity({ ...PII, country: 'GB' })).status).toBe(201);
    expect((await entity({ ...PII, country: 'IE' })).status).toBe(200);
    const state = await op.client.put(`${P}/entities/lifecycle_1/state/loyalty_tier`, { value: 'gold' });
    expect(state.status).toBe(200);
    expect((await op.client.delete(`${P}/entities/lifecycle_1`)).status).toBe(200);

    const expected: Array<[string, Record<string, unknown>]> = [
      ['entity.created', { country: 'GB' }],
      ['entity.updated', { country: 'IE' }],
      ['entity_state.updated.loyalty_tier', { value: 'gold' }],
      ['entity.deleted', {}],
    ];
    for (const [internalEvent, data] of expected) {
      const ids = await eventually(() => fanoutsOf(internalEvent));
      expect(ids).toHaveLength(1);
      const [id] = ids;
      expect(id).toMatch(new RegExp(`^${internalEvent.replace(/\./g, '\\.')}:ien_[0-9a-f]{16}$`));
      const result = await waitForResult<FanoutResult>(h.stack, id!);
      expect(result).toMatchObject({ internalEvent, matched: 1, failed: 0 });
      expect(result.runs).toEqual([
        expect.objectContaining({
          definition: 'operator-webhook',
          status: 'completed',
          result: { forwarded: true, messageId: `${id}/operator-webhook/webhook` },
        }),
      ]);

      const [hook] = await h.receiver.waitFor(
        (r) => r.headers['webhook-id'] === `${id}/operator-webhook/webhook`,
      );
      expect(verifyStandardWebhook(op.webhookSecret, hook!)).toBe(true);
      expect(hook!.body.type).toBe(internalEvent);
      expect(hook!.body.data).toMatchObject({ externalId: 'lifecycle_1', eventId: null });
      expect(hook!.body.data.data).toEqual(expect.objectContaining(data));
      for (const value of Object.values(PII)) expect(hook!.rawBody).not.toContain(value);
    }
    // Started through the outbox like events: no row is left behind.
    const { rows } = await h.stack.db.pool.query(
      'select workflow_id from fanout_outbox where operator_id = $1',
      [op.operatorId],
    );
    expect(rows).toEqual([]);
  });

  it('starts no workflow for a change nothing wants: no definition, no subscription', async () => {
    const op = await operatorWithWebhook(h, ['entity_event.*']);
    expect(
      (
        await op.client.post(`${P}/entities`, {
          entityType: 'player',
          externalId: 'quiet_1',
          data: { email: 'quiet@example.com', country: 'GB' },
        })
      ).status,
    ).toBe(201);
    expect((await op.client.put(`${P}/entities/quiet_1/state/loyalty_tier`, { value: 'gold' })).status).toBe(
      200,
    );
    expect((await op.client.delete(`${P}/entities/quiet_1`)).status).toBe(200);
    // Written in the same statement as the change: no start was queued, so nothing can start.
    // The state write and the erasure queue start-less rows (they meet the entity's open waits,
    // core/db/waits.ts), and those leave the outbox without a workflow.
    const { rows } = await h.stack.db.pool.query(
      'select workflow_id from fanout_outbox where operator_id = $1 and start',
      [op.operatorId],
    );
    expect(rows).toEqual([]);
    await eventually(async () => {
      const left = await h.stack.db.pool.query('select 1 from fanout_outbox where operator_id = $1', [
        op.operatorId,
      ]);
      return left.rows.length === 0 ? true : undefined;
    });
    expect(await listWorkflowIds(h.stack, `OperatorId = '${op.operatorId}'`, 0)).toEqual([]);
  });
});
