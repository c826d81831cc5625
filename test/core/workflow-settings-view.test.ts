import fc from 'fast-check';
import type { WorkflowDefaults } from '../../core/config';
import { effectiveThresholds, type WorkflowSettings } from '../../core/db/workflow-settings';
import { workflowsView } from '../../core/domain/workflow-settings';

const CURRENCIES = ['GBP', 'EUR', 'USD', 'SEK'];
const amount = fc.integer({ min: 0, max: 10_000 });
const perCurrency = fc.dictionary(fc.constantFrom(...CURRENCIES), amount);
const duration = fc.constantFrom('10s', '90m', '72h', '30d', '1d12h');

/**
 * GET /workflows reports effective parameters; the activities apply effectiveThresholds. The
 * two must agree for every combination of own settings and environment.
 */
describe('the effective parameters GET /workflows reports', () => {
  it('are the ones the activities apply, for any own settings and environment', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            kycDepositThreshold: amount,
            amlThreshold: amount,
            amlThresholds: perCurrency,
            affordabilityThreshold: amount,
            affordabilityWindowDays: fc.integer({ min: 1, max: 365 }),
            sourceOfFundsThreshold: amount,
            sourceOfFundsWindowDays: fc.integer({ min: 1, max: 3650 }),
            sourceOfFundsDeadline: duration,
            sourceOfFundsReminder: duration,
            kycResultDeadline: duration,
          },
          { requiredKeys: [] },
        ),
        fc.record({
          KYC_DEPOSIT_THRESHOLD: amount,
          AML_THRESHOLD: amount,
          AML_THRESHOLDS: perCurrency,
          AFFORDABILITY_THRESHOLD: amount,
          AFFORDABILITY_WINDOW_DAYS: fc.integer({ min: 1, max: 365 }),
          SOURCE_OF_FUNDS_THRESHOLD: amount,
          SOURCE_OF_FUNDS_WINDOW_DAYS: fc.integer({ min: 1, max: 3650 }),
          SOURCE_OF_FUNDS_DEADLINE: duration,
          SOURCE_OF_FUNDS_REMINDER: duration,
          KYC_RESULT_DEADLINE: duration,
        }),
        (settings: WorkflowSettings, env: WorkflowDefaults) => {
          const { effective } = workflowsView({ settings, validFrom: new Date() }, env);
          const applied = effectiveThresholds(settings, env);
          expect(effective.kycDepositThreshold.value).toBe(applied.kycDepositThreshold);
          expect(effective.affordabilityThreshold.value).toBe(applied.affordabilityThreshold);
          expect(effective.affordabilityWindowDays.value).toBe(applied.affordabilityWindowDays);
          expect(effective.sourceOfFundsThreshold.value).toBe(applied.sourceOfFundsThreshold);
          expect(effective.sourceOfFundsWindowDays.value).toBe(applied.sourceOfFundsWindowDays);
          expect(effective.sourceOfFundsDeadline.value).toBe(applied.sourceOfFundsDeadline);
          expect(effective.sourceOfFundsReminder.value).toBe(applied.sourceOfFundsReminder);
          expect(effective.kycResultDeadline.value).toBe(applied.kycResultDeadline);
          for (const c of [...CURRENCIES, 'JPY'])
            expect((effective.amlThresholds[c] ?? effective.amlThreshold).value).toBe(
              applied.amlThreshold(c),
            );
        },
      ),
    );
  });

  it('marks each value as the operator’s own or the default, and lists switched-off definitions as disabled', () => {
    const view = workflowsView(
      {
        settings: { kycDepositThreshold: 5, disabledDefinitions: ['aml-threshold'] },
        validFrom: new Date(0),
      },
      {
        KYC_DEPOSIT_THRESHOLD: 1000,
        AML_THRESHOLD: 2000,
        AML_THRESHOLDS: {},
        AFFORDABILITY_THRESHOLD: 150,
        AFFORDABILITY_WINDOW_DAYS: 30,
        SOURCE_OF_FUNDS_THRESHOLD: 2000,
        SOURCE_OF_FUNDS_WINDOW_DAYS: 180,
        SOURCE_OF_FUNDS_DEADLINE: '30d',
        SOURCE_OF_FUNDS_REMINDER: '20d',
        KYC_RESULT_DEADLINE: '24h',
      },
    );
    expect(view.parameters).toEqual({ kycDepositThreshold: 5 });
    expect(view.effective.kycDepositThreshold).toEqual({ value: 5, source: 'operator' });
    expect(view.effective.amlThreshold).toEqual({ value: 2000, source: 'default' });
    expect(view.effective.sourceOfFundsDeadline).toEqual({ value: '30d', source: 'default' });
    expect(view.effective.kycResultDeadline).toEqual({ value: '24h', source: 'default' });
    expect(view.definitions.filter((d) => !d.enabled).map((d) => d.name)).toEqual(['aml-threshold']);
    expect(view.validFrom).toBe('1970-01-01T00:00:00.000Z');
  });
});
