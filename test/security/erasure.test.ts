import { P } from '../support/http';
import {
  eventually,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(90_000);

/** Distinctive values for every PII field of the player template. */
const PII = {
  email: 'ze.erase.eve@example.net',
  first_name: 'Zerasefirst',
  last_name: 'Zeraselast',
  phone: '+447700900777',
  date_of_birth: '1990-01-31',
};

/** Every string in a value, with byte arrays (history payloads) decoded as UTF-8. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(textOf).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(textOf).join('\n');
  return String(value);
}

/**
 * GDPR erasure end to end: after DELETE /entities/:externalId no PII value is left in any
 * table of the database (plaintext or ciphertext), in any workflow history of the operator,
 * or in anything sent to the operator's webhook.
 */
describe('erasure leaves no PII anywhere the service wrote it', () => {
  let h: WorkflowHarness;

  beforeAll(async () => {
    h = await startWorkflowHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Every row of every table in the database, as text. */
  async function wholeDatabase(): Promise<string> {
    const { rows: tables } = await h.stack.db.pool.query<{ t: string }>(
      `select quote_ident(table_name) t from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE'`,
    );
    const parts: string[] = [];
    for (const { t } of tables) {
      const { rows } = await h.stack.db.pool.query<{ r: string }>(`select x::text r from ${t} x`);
      parts.push(...rows.map((r) => r.r));
    }
    return parts.join('\n');
  }

  it('after DELETE: no PII in any table, no ciphertext left, none in histories or webhooks', async () => {
    const op = await operatorWithWebhook(h, ['entity.*', 'entity_event.*', 'entity_state.*']);
    const c = op.client;
    const create = await c.post(
      `${P}/entities`,
      { entityType: 'player', externalId: 'erase_1', data: { ...PII, country: 'GB' } },
      { 'Idempotency-Key': 'erase-create-1' },
    );
    expect(create.status).toBe(201);
    expect(
      (
        await c.post(`${P}/batch/entities`, [
          { entityType: 'player', externalId: 'erase_1', data: { ...PII, country: 'IE' } },
        ])
      ).status,
    ).toBe(200);
    const deposit = await recordEvent(c, 'erase_1', 'transaction', {
      type: 'deposit',
      amount: 50,
      currency: 'GBP',
    });
    expect((await c.put(`${P}/entities/erase_1/state/loyalty_tier`, { value: 'gold' })).status).toBe(200);
    // Before: the PII is held (encrypted), and readable through the API.
    const { rows: before } = await h.stack.db.pool.query(
      `select pii is not null as has_pii from entities where operator_id = $1 and external_id = 'erase_1'`,
      [op.operatorId],
    );
    expect(before[0].has_pii).toBe(true);
    expect((await c.get(`${P}/entities/erase_1`)).body.data.data).toMatchObject(PII);

    expect((await c.delete(`${P}/entities/erase_1`)).status).toBe(200);
    expect((await c.get(`${P}/entities/erase_1`)).status).toBe(404);

    // Let every fan-out (deposit checks, state, the deletion itself, webhooks) finish.
    const ids = await eventually(async () => {
      const all: string[] = [];
      let running = 0;
      for await (const wf of h.stack.temporal.workflow.list({ query: `OperatorId = '${op.operatorId}'` })) {
        all.push(wf.workflowId);
        if (wf.status.name === 'RUNNING') running++;
      }
      return all.some((id) => id.startsWith('entity.deleted:')) && running === 0 ? all : undefined;
    }, 60_000);
    expect(ids).toContain(deposit.fanoutId);

    const db = await wholeDatabase();
    expect(db).toContain('erase_1'); // the scan does read the rows
    const { rows: after } = await h.stack.db.pool.query(
      `select pii, data from entities where operator_id = $1 and external_id = 'erase_1'`,
      [op.operatorId],
    );
    expect(after[0].pii).toBeNull();
    expect(Object.keys(after[0].data).filter((k) => k in PII)).toEqual([]);

    const histories = await Promise.all(
      ids.map((id) => h.stack.temporal.workflow.getHandle(id).fetchHistory()),
    );
    const sent = h.receiver.requests.map((r) => r.rawBody).join('\n');
    expect(sent).toContain('entity.deleted');
    for (const value of Object.values(PII)) {
      expect({ value, database: db.includes(value) }).toEqual({ value, database: false });
      expect({ value, histories: textOf(histories).includes(value) }).toEqual({ value, histories: false });
      expect({ value, webhooks: sent.includes(value) }).toEqual({ value, webhooks: false });
    }
  });
});
