import { expectError, ISO_MS } from '../support/expect';
import { api, P } from '../support/http';
import { newOperator } from '../support/operators';
import { startStack, type TestStack } from '../support/stack';

const NAMES = [
  'kyc-on-deposit',
  'kyc-result',
  'aml-threshold',
  'affordability-check',
  'source-of-funds',
  'self-exclusion',
  'operator-webhook',
];

/** GET and PUT /workflows: an operator's own rules for the built-in definitions. */
describe('GET and PUT /workflows', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({
      relay: false,
      immediateStarts: false,
      configOverrides: {
        KYC_DEPOSIT_THRESHOLD: '1000',
        AML_THRESHOLD: '2000',
        AML_THRESHOLDS: '{"EUR":1800}',
        AFFORDABILITY_THRESHOLD: '150',
        AFFORDABILITY_WINDOW_DAYS: '30',
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const versions = async (operatorId: string) =>
    Number(
      (
        await stack.db.pool.query<{ n: string }>(
          'select count(*) as n from operator_workflow_settings where operator_id = $1',
          [operatorId],
        )
      ).rows[0]!.n,
    );

  const DEFAULTS = {
    kycDepositThreshold: { value: 1000, source: 'default' },
    amlThreshold: { value: 2000, source: 'default' },
    amlThresholds: { EUR: { value: 1800, source: 'default' } },
    affordabilityThreshold: { value: 150, source: 'default' },
    affordabilityWindowDays: { value: 30, source: 'default' },
    sourceOfFundsThreshold: { value: 2000, source: 'default' },
    sourceOfFundsWindowDays: { value: 180, source: 'default' },
    sourceOfFundsDeadline: { value: '30d', source: 'default' },
    sourceOfFundsReminder: { value: '20d', source: 'default' },
    kycResultDeadline: { value: '24h', source: 'default' },
  };

  it('GET lists every definition enabled, no own parameters, and the environment as the effective values', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const res = await op.client.get(`${P}/workflows`);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.data.definitions.map((d: { name: string }) => d.name)).toEqual(NAMES);
    expect(res.body.data.definitions[0]).toEqual({
      name: 'kyc-on-deposit',
      description: expect.any(String),
      trigger: ['entity_event.transaction'],
      enabled: true,
    });
    expect(res.body.data.definitions.every((d: { enabled: boolean }) => d.enabled)).toBe(true);
    expect(res.body.data).toMatchObject({ parameters: {}, effective: DEFAULTS, validFrom: null });
  });

  it('PUT stores a new version and answers the new state, which GET then answers too', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const put = await op.client.put(`${P}/workflows`, {
      definitions: { 'affordability-check': { enabled: false }, 'kyc-on-deposit': { enabled: true } },
      parameters: { kycDepositThreshold: 500, amlThresholds: { GBP: 1700 }, affordabilityWindowDays: 7 },
    });
    expect(put.status).toBe(200);
    expect(put.body.data).toEqual({
      definitions: expect.any(Array),
      parameters: { kycDepositThreshold: 500, amlThresholds: { GBP: 1700 }, affordabilityWindowDays: 7 },
      effective: {
        ...DEFAULTS,
        kycDepositThreshold: { value: 500, source: 'operator' },
        amlThresholds: { EUR: { value: 1800, source: 'default' }, GBP: { value: 1700, source: 'operator' } },
        affordabilityWindowDays: { value: 7, source: 'operator' },
      },
      validFrom: expect.stringMatching(ISO_MS),
    });
    const enabled = Object.fromEntries(
      put.body.data.definitions.map((d: { name: string; enabled: boolean }) => [d.name, d.enabled]),
    );
    expect(enabled).toEqual({
      'kyc-on-deposit': true,
      'kyc-result': true,
      'aml-threshold': true,
      'affordability-check': false,
      'source-of-funds': true,
      'self-exclusion': true,
      'operator-webhook': true,
    });
    expect((await op.client.get(`${P}/workflows`)).body).toEqual(put.body);

    // A second PUT replaces the whole version: what it leaves out is back to on / the default.
    // An own flat AML threshold outranks the environment's per-currency ones (as the activity).
    const again = await op.client.put(`${P}/workflows`, { parameters: { amlThreshold: 900 } });
    expect(again.status).toBe(200);
    expect(again.body.data.definitions.every((d: { enabled: boolean }) => d.enabled)).toBe(true);
    expect(again.body.data.parameters).toEqual({ amlThreshold: 900 });
    expect(again.body.data.effective).toEqual({
      ...DEFAULTS,
      amlThreshold: { value: 900, source: 'operator' },
      amlThresholds: {},
    });
    expect(Date.parse(again.body.data.validFrom)).toBeGreaterThanOrEqual(Date.parse(put.body.data.validFrom));
    expect(await versions(op.operatorId)).toBe(2);
    expect((await op.client.get(`${P}/workflows`)).body).toEqual(again.body);
  });

  it.each([
    ['an unknown definition', { definitions: { 'big-win-alert': { enabled: false } } }, 'definitions'],
    ['an unknown parameter', { parameters: { kycThreshold: 5 } }, 'parameters'],
    ['an unknown top-level field', { disabled: ['aml-threshold'] }, 'body'],
    [
      'an unknown field of a switch',
      { definitions: { 'aml-threshold': { enabled: false, why: 1 } } },
      'definitions.aml-threshold',
    ],
    [
      'a switch that is not a boolean',
      { definitions: { 'aml-threshold': { enabled: 'no' } } },
      'definitions.aml-threshold.enabled',
    ],
    [
      'a negative KYC threshold',
      { parameters: { kycDepositThreshold: -1 } },
      'parameters.kycDepositThreshold',
    ],
    ['a negative AML threshold', { parameters: { amlThreshold: -0.01 } }, 'parameters.amlThreshold'],
    [
      'a negative per-currency threshold',
      { parameters: { amlThresholds: { GBP: -5 } } },
      'parameters.amlThresholds.GBP',
    ],
    [
      'a lower-case currency code',
      { parameters: { amlThresholds: { gbp: 1700 } } },
      'parameters.amlThresholds.gbp',
    ],
    [
      'a four-letter currency code',
      { parameters: { amlThresholds: { GBPX: 1700 } } },
      'parameters.amlThresholds.GBPX',
    ],
    [
      'a negative affordability threshold',
      { parameters: { affordabilityThreshold: -150 } },
      'parameters.affordabilityThreshold',
    ],
    [
      'a zero-day window',
      { parameters: { affordabilityWindowDays: 0 } },
      'parameters.affordabilityWindowDays',
    ],
    [
      'a fractional window',
      { parameters: { affordabilityWindowDays: 1.5 } },
      'parameters.affordabilityWindowDays',
    ],
    [
      'a deadline under 10 seconds',
      { parameters: { sourceOfFundsDeadline: '9s' } },
      'parameters.sourceOfFundsDeadline',
    ],
    [
      'a deadline that is not a duration',
      { parameters: { sourceOfFundsDeadline: '30 days' } },
      'parameters.sourceOfFundsDeadline',
    ],
    [
      'a deadline as a number',
      { parameters: { sourceOfFundsDeadline: 30 } },
      'parameters.sourceOfFundsDeadline',
    ],
    [
      'a threshold as a string',
      { parameters: { kycDepositThreshold: '500' } },
      'parameters.kycDepositThreshold',
    ],
    ['an array body', [], 'body'],
  ])(
    'refuses %s with 400 VALIDATION_FAILED naming the field, and stores nothing',
    async (_name, body, field) => {
      const op = await newOperator(stack.db.pool, stack.baseUrl);
      const res = await op.client.put(`${P}/workflows`, body);
      expectError(res, 400, 'VALIDATION_FAILED');
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      expect(await versions(op.operatorId)).toBe(0);
      expect((await op.client.get(`${P}/workflows`)).body.data.validFrom).toBeNull();
    },
  );

  it('says which names and codes it accepts', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    const reasons = async (body: unknown) =>
      ((await op.client.put(`${P}/workflows`, body)).body.error.details as Array<{ reason: string }>).map(
        (d) => d.reason,
      );
    expect(await reasons({ definitions: { 'big-win-alert': { enabled: false } } })).toEqual([
      `unknown definition "big-win-alert"; known: ${NAMES.join(', ')}`,
    ]);
    expect(await reasons({ parameters: { amlThresholds: { gbp: 1 } } })).toEqual([
      'keys must be ISO 4217 currency codes (three capital letters)',
    ]);
  });

  it('refuses malformed JSON and a missing body with 400, and stores nothing', async () => {
    const op = await newOperator(stack.db.pool, stack.baseUrl);
    expectError(await op.client.put(`${P}/workflows`, '{"parameters":'), 400, 'VALIDATION_FAILED');
    expectError(await op.client.call('PUT', `${P}/workflows`), 400, 'VALIDATION_FAILED');
    expect(await versions(op.operatorId)).toBe(0);
  });

  it("answers 401 without a key, and one operator's settings are invisible to and without effect on another", async () => {
    expectError(await api(stack.baseUrl).get(`${P}/workflows`), 401, 'UNAUTHORIZED');
    const a = await newOperator(stack.db.pool, stack.baseUrl);
    const b = await newOperator(stack.db.pool, stack.baseUrl);
    const put = await a.client.put(`${P}/workflows`, {
      definitions: { 'aml-threshold': { enabled: false } },
      parameters: { kycDepositThreshold: 1 },
    });
    expect(put.status).toBe(200);
    const other = await b.client.get(`${P}/workflows`);
    expect(other.body.data).toMatchObject({ parameters: {}, effective: DEFAULTS, validFrom: null });
    expect(other.body.data.definitions.every((d: { enabled: boolean }) => d.enabled)).toBe(true);
    expect(await versions(b.operatorId)).toBe(0);
    expect((await a.client.get(`${P}/workflows`)).body).toEqual(put.body);
  });

  it('is in the OpenAPI document, one switch per registered definition', async () => {
    const doc = (await fetch(`${stack.baseUrl}/openapi.json`).then((r) => r.json())) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(Object.keys(doc.paths[`${P}/workflows`] ?? {}).sort()).toEqual(['get', 'put']);
    expect(Object.keys(doc.components.schemas.WorkflowDefinitionSwitches?.properties ?? {})).toEqual(NAMES);
  });
});
