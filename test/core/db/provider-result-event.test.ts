import { recordKycCheck } from '../../../core/db/kyc-checks';
import { withTransaction } from '../../../core/db/pool';
import { recordProviderDelivery } from '../../../core/db/provider-inbox';
import { createTestDatabase, type TestDatabase } from '../../support/db';

let db: TestDatabase;
const OP = 'op_pre';

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`insert into operators (id, name, mode) values ($1, 'provider events', 'live')`, [OP]);
  await recordKycCheck(db.pool, {
    operatorId: OP,
    provider: 'sandbox',
    checkId: 'chk_1',
    applicantId: 'player_1',
    externalId: 'player_1',
    workflowId: 'entity_event.transaction:eev_1',
  });
  // A retried requestProviderCheck records the same check again: nothing changes.
  await recordKycCheck(db.pool, {
    operatorId: OP,
    provider: 'sandbox',
    checkId: 'chk_1',
    applicantId: 'player_1',
    externalId: 'player_1',
    workflowId: 'entity_event.transaction:eev_1',
  });
});
afterAll(() => db.drop());

const delivery = (over: Record<string, unknown>) => ({
  operatorId: OP,
  connectionId: 'pcn_1',
  provider: 'sandbox' as const,
  eventType: 'check.completed',
  dedupKey: 'evt_1',
  providerEventId: 'evt_1',
  checkId: 'chk_1',
  applicantId: 'player_1',
  result: 'rejected' as const,
  providerTimestamp: new Date('2026-12-03T10:00:00.123Z'),
  outcome: 'accepted' as const,
  ...over,
});

describe('provider.webhook.kyc.<result> in the outbox', () => {
  it('writes one row for the entity of the check, id = the delivery, data as waits and webhooks see it, in the inbox’s transaction', async () => {
    const { delivery: d, start } = await withTransaction(db.pool, (tx) =>
      recordProviderDelivery(tx, delivery({})),
    );
    expect(d.outcome).toBe('accepted');
    const { rows } = await db.pool.query(
      `select workflow_id, operator_id, internal_event, payload, search_attributes, definitions, start
         from fanout_outbox where workflow_id = $1`,
      [`provider.webhook.kyc.rejected:${d.id}`],
    );
    expect(rows).toEqual([
      {
        workflow_id: `provider.webhook.kyc.rejected:${d.id}`,
        operator_id: OP,
        internal_event: 'provider.webhook.kyc.rejected',
        payload: {
          internalEvent: 'provider.webhook.kyc.rejected',
          operatorId: OP,
          externalId: 'player_1',
          data: {
            checkId: 'chk_1',
            applicantId: 'player_1',
            provider: 'sandbox',
            result: 'rejected',
            providerTimestamp: '2026-12-03T10:00:00.123Z',
            deliveryId: d.id,
          },
          occurredAt: d.receivedAt.toISOString(),
        },
        search_attributes: {
          OperatorId: [OP],
          EntityExternalId: ['player_1'],
          InternalEvent: ['provider.webhook.kyc.rejected'],
        },
        // kyc-result always; operator-webhook only where the operator's endpoint subscribes (none here).
        definitions: ['kyc-result'],
        start: true,
      },
    ]);
    expect(start).toMatchObject({
      workflow_id: rows[0].workflow_id,
      definitions: ['kyc-result'],
      start: true,
    });
    const { rows: inbox } = await db.pool.query(
      `select external_id, kyc_check_id from provider_webhook_inbox where id = $1`,
      [d.id],
    );
    expect(inbox).toEqual([{ external_id: 'player_1', kyc_check_id: 'chk_1' }]);
  });

  it('finds the entity by applicant when the delivery names no known check', async () => {
    const { delivery: d } = await withTransaction(db.pool, (tx) =>
      recordProviderDelivery(tx, delivery({ dedupKey: 'evt_2', checkId: null, result: 'approved' })),
    );
    const { rows } = await db.pool.query(
      `select payload->>'externalId' as external_id, payload->'data'->>'checkId' as check_id from fanout_outbox
        where workflow_id = $1`,
      [`provider.webhook.kyc.approved:${d.id}`],
    );
    expect(rows).toEqual([{ external_id: 'player_1', check_id: 'chk_1' }]);
  });

  it('writes nothing for a redelivery or for an unknown check (stored ignored, unknown_check)', async () => {
    const again = await withTransaction(db.pool, (tx) => recordProviderDelivery(tx, delivery({})));
    expect(again).toMatchObject({ duplicate: true, start: null });
    const unknown = await withTransaction(db.pool, (tx) =>
      recordProviderDelivery(tx, delivery({ dedupKey: 'evt_3', checkId: 'chk_x', applicantId: 'someone' })),
    );
    expect(unknown).toMatchObject({ duplicate: false, start: null, delivery: { outcome: 'ignored' } });
    const { rows } = await db.pool.query(
      `select count(*)::int as n from fanout_outbox where internal_event like 'provider.webhook.%'`,
    );
    expect(rows[0].n).toBe(2);
    const { rows: ignored } = await db.pool.query(
      `select outcome, ignored_reason from provider_webhook_inbox where id = $1`,
      [unknown.delivery.id],
    );
    expect(ignored).toEqual([{ outcome: 'ignored', ignored_reason: 'unknown_check' }]);
  });
});
