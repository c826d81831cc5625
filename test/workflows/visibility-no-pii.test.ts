import type { WorkflowHandle } from '@temporalio/client';
import { P } from '../support/http';
import {
  eventually,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(90_000);

/** Distinctive values for every PII field of the player template, so a leak is unambiguous. */
const PII = {
  email: 'zq.visibility.jane@example.com',
  first_name: 'Zqjanefirst',
  last_name: 'Zqdoelast',
  phone: '+447700900987',
  date_of_birth: '1987-03-14',
};
const KYC_API_KEY = 'kyc_secret_zq81vvb2';

/** Every string in a value, with byte arrays (history payloads) decoded as UTF-8. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(textOf).join('\n');
  if (value && typeof value === 'object') return Object.values(value).map(textOf).join('\n');
  return String(value);
}

/** What the Temporal UI shows of a workflow besides its history: the places PII must never be. */
async function visibleMetadata(handle: WorkflowHandle) {
  const d = await handle.describe();
  return {
    searchAttributes: d.searchAttributes,
    memo: d.memo ?? {},
    staticSummary: await d.staticSummary(),
    staticDetails: await d.staticDetails(),
  };
}

describe('no PII or secrets in what Temporal shows and stores', () => {
  let h: WorkflowHarness;

  beforeAll(async () => {
    h = await startWorkflowHarness({
      kyc: { apiKey: KYC_API_KEY },
      config: { KYC_PROVIDER_API_KEY: KYC_API_KEY },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("keeps the player's PII, the API key and the provider key out of search attributes, memos, summaries and histories", async () => {
    const op = await operatorWithWebhook(h, ['entity_event.*', 'entity.*', 'entity_state.*'], {
      mode: 'test',
    });
    const externalId = 'review_pii_1';
    const created = await op.client.post(`${P}/entities`, {
      entityType: 'player',
      externalId,
      data: { ...PII, country: 'GB', currency: 'GBP' },
    });
    expect(created.status).toBe(201);
    // A first deposit over every threshold (KYC review, AML, affordability: three alerts), a
    // self-exclusion (another alert), a state write and an update: every kind of workflow.
    const deposit = await recordEvent(op.client, externalId, 'transaction', {
      type: 'deposit',
      amount: 2500,
      currency: 'GBP',
    });
    const block = await recordEvent(op.client, externalId, 'block', {
      type: 'self_exclusion',
      reason: 'player request',
    });
    await op.client.put(`${P}/entities/${externalId}/state/loyalty_tier`, { value: 'gold' });
    expect(
      (
        await op.client.post(`${P}/entities`, {
          entityType: 'player',
          externalId,
          data: { ...PII, country: 'IE' },
        })
      ).status,
    ).toBe(200);

    const query = `OperatorId = '${op.operatorId}'`;
    const ids = await eventually(async () => {
      const all: string[] = [];
      let running = 0;
      for await (const wf of h.stack.temporal.workflow.list({ query })) {
        all.push(wf.workflowId);
        if (wf.status.name === 'RUNNING') running++;
      }
      // The state writes' workflows (started by the deposit's and the block's activities) are
      // the last to start: wait for them, then for quiet.
      const stateWrites = all.filter((id) => id.startsWith('entity_state.updated.')).length;
      return stateWrites >= 3 && running === 0 ? all : undefined;
    }, 45_000);
    expect(ids).toEqual(expect.arrayContaining([deposit.fanoutId, block.fanoutId]));
    expect(ids.some((id) => id.startsWith('entity.created:'))).toBe(true);
    expect(ids.some((id) => id.startsWith('entity.updated:'))).toBe(true);
    expect(ids.some((id) => id.startsWith('entity_state.updated.kyc_status:'))).toBe(true);
    expect(ids.some((id) => id.startsWith('entity_state.updated.risk_score:'))).toBe(true);
    expect(ids.some((id) => id.startsWith('entity_state.updated.loyalty_tier:'))).toBe(true);
    // Alerts and forwarded events are activities of these workflows now, with the same ids.
    const alerts = h.receiver.requests
      .filter((r) => r.body.data.externalId === externalId)
      .map((r) => String(r.headers['webhook-id']));
    expect(alerts).toEqual(
      expect.arrayContaining([
        `${deposit.fanoutId}/kyc-on-deposit/alert`,
        `${deposit.fanoutId}/aml-threshold/alert`,
        `${deposit.fanoutId}/affordability-check/alert`,
        `${deposit.fanoutId}/operator-webhook/webhook`,
        `${block.fanoutId}/self-exclusion/alert`,
      ]),
    );

    const secrets = [...Object.values(PII), op.apiKey, op.webhookSecret, KYC_API_KEY];
    for (const id of ids) {
      const handle = h.stack.temporal.workflow.getHandle(id);
      const meta = await visibleMetadata(handle);
      // What ops staff search by is there, and is not PII.
      expect(meta.searchAttributes).toMatchObject({
        OperatorId: [op.operatorId],
        EntityExternalId: [externalId],
      });
      expect(meta.staticSummary).toEqual(expect.any(String));
      const shown = textOf(meta);
      const stored = textOf(await handle.fetchHistory());
      // The search below reads payloads: what is meant to be there is found.
      if (id === deposit.fanoutId) expect(stored).toContain(`"externalId":"${externalId}"`);
      for (const secret of secrets) {
        expect({
          id,
          where: 'search attributes, memo, summary, details',
          leaked: shown.includes(secret),
        }).toEqual({
          id,
          where: 'search attributes, memo, summary, details',
          leaked: false,
        });
        expect({ id, where: 'history', leaked: stored.includes(secret) }).toEqual({
          id,
          where: 'history',
          leaked: false,
        });
      }
    }
  });
});
