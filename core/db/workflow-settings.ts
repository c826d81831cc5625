import { z } from 'zod';
import { definitions } from '../../workflows/definitions';
import type { WorkflowDefaults } from '../config';
import { DurationString } from '../duration';
import type { Queryable } from './pool';

const Amount = z.number().min(0);

/**
 * An operator's own parameters for the built-in definitions; each one left out falls back to
 * the environment (KYC_DEPOSIT_THRESHOLD, AML_THRESHOLDS / AML_THRESHOLD,
 * AFFORDABILITY_THRESHOLD, AFFORDABILITY_WINDOW_DAYS).
 */
export const WorkflowParameters = z
  .object({
    kycDepositThreshold: Amount.optional().meta({
      description: 'kyc-on-deposit checks a deposit at or over this amount (the first deposit always)',
    }),
    amlThreshold: Amount.optional().meta({
      description:
        'aml-threshold flags a transaction at or over this amount, in currencies not in amlThresholds',
    }),
    amlThresholds: z
      .record(z.string().regex(/^[A-Z]{3}$/), Amount, {
        error: (issue) =>
          issue.code === 'invalid_key'
            ? 'keys must be ISO 4217 currency codes (three capital letters)'
            : undefined,
      })
      .optional()
      .meta({ description: 'aml-threshold per currency (ISO 4217 code), e.g. {"GBP":1700}' }),
    affordabilityThreshold: Amount.optional().meta({
      description: 'affordability-check flags net deposits over the window above this amount',
    }),
    affordabilityWindowDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .optional()
      .meta({ description: 'The affordability window, in days (1 to 365)' }),
    sourceOfFundsThreshold: Amount.optional().meta({
      description:
        "source-of-funds asks for it once the player's deposits over the window reach this amount (deposit's currency)",
    }),
    sourceOfFundsWindowDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .meta({ description: 'The source-of-funds window, in days (1 to 3650)' }),
    sourceOfFundsDeadline: DurationString.optional().meta({
      description:
        'How long the player has to provide source of funds before it is overdue (e.g. 30d, 72h, 20s)',
    }),
    sourceOfFundsReminder: DurationString.optional().meta({
      description:
        'When to send the operator a reminder while source of funds is still awaited (ignored at or past the deadline)',
    }),
    kycResultDeadline: DurationString.optional().meta({
      description:
        "How long kyc-on-deposit waits for a pending check's result before kyc_status is overdue (e.g. 24h, 30m, 10s)",
    }),
  })
  .strict();
export type WorkflowParameters = z.infer<typeof WorkflowParameters>;

/** Names of the registered definitions: the only ones an operator can switch off. */
const DefinitionName = z.string().refine((name) => definitions.some((d) => d.name === name), {
  error: (issue) => `unknown definition "${String(issue.input)}"`,
});

/**
 * One version of an operator's settings: its parameters, and the definitions it switched off
 * (left out of the plan of events recorded while this version is the newest: migration 010).
 */
export const WorkflowSettings = WorkflowParameters.extend({
  disabledDefinitions: z.array(DefinitionName).optional(),
}).strict();
export type WorkflowSettings = z.infer<typeof WorkflowSettings>;

/** Stores a new version of an operator's settings, in force from now on; answers when it began. */
export async function setWorkflowSettings(
  db: Queryable,
  operatorId: string,
  settings: WorkflowSettings,
): Promise<{ validFrom: Date }> {
  const { rows } = await db.query<{ valid_from: Date }>(
    `insert into operator_workflow_settings (operator_id, settings) values ($1, $2) returning valid_from`,
    [operatorId, settings],
  );
  return { validFrom: rows[0]!.valid_from };
}

/**
 * The version in force at `at` (an event's recording time), or now by the database's clock
 * (the clock `valid_from` is written with: a time from this process could fall a fraction of a
 * millisecond before a version just written); {} when there was none.
 */
export async function workflowSettingsAt(
  db: Queryable,
  operatorId: string,
  at?: string | Date,
): Promise<WorkflowSettings> {
  return (await workflowSettingsVersion(db, operatorId, at))?.settings ?? {};
}

/** The version in force at `at` (or now), with when it began; undefined when there was none. */
export async function workflowSettingsVersion(
  db: Queryable,
  operatorId: string,
  at?: string | Date,
): Promise<{ settings: WorkflowSettings; validFrom: Date } | undefined> {
  const { rows } = await db.query<{ settings: WorkflowSettings; valid_from: Date }>(
    `select settings, valid_from from operator_workflow_settings
      where operator_id = $1 and valid_from <= coalesce($2::timestamptz, clock_timestamp())
      order by valid_from desc
      limit 1`,
    [operatorId, at ?? null],
  );
  const row = rows[0];
  return row && { settings: row.settings, validFrom: row.valid_from };
}

/** Every parameter, the operator's own where it set one, else the environment's. */
export function effectiveThresholds(s: WorkflowSettings, config: WorkflowDefaults) {
  return {
    kycDepositThreshold: s.kycDepositThreshold ?? config.KYC_DEPOSIT_THRESHOLD,
    /** The operator's per-currency, then its flat threshold, then the environment's. */
    amlThreshold: (currency: string): number =>
      s.amlThresholds?.[currency] ??
      s.amlThreshold ??
      config.AML_THRESHOLDS[currency] ??
      config.AML_THRESHOLD,
    affordabilityThreshold: s.affordabilityThreshold ?? config.AFFORDABILITY_THRESHOLD,
    affordabilityWindowDays: s.affordabilityWindowDays ?? config.AFFORDABILITY_WINDOW_DAYS,
    sourceOfFundsThreshold: s.sourceOfFundsThreshold ?? config.SOURCE_OF_FUNDS_THRESHOLD,
    sourceOfFundsWindowDays: s.sourceOfFundsWindowDays ?? config.SOURCE_OF_FUNDS_WINDOW_DAYS,
    sourceOfFundsDeadline: s.sourceOfFundsDeadline ?? config.SOURCE_OF_FUNDS_DEADLINE,
    sourceOfFundsReminder: s.sourceOfFundsReminder ?? config.SOURCE_OF_FUNDS_REMINDER,
    kycResultDeadline: s.kycResultDeadline ?? config.KYC_RESULT_DEADLINE,
  };
}
