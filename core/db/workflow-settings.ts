import { z } from 'zod';
import type { Config } from '../config';
import type { Queryable } from './pool';

const Amount = z.number().min(0);

/**
 * An operator's own parameters for the built-in definitions; each one left out falls back to
 * the environment (KYC_DEPOSIT_THRESHOLD, AML_THRESHOLDS / AML_THRESHOLD,
 * AFFORDABILITY_THRESHOLD, AFFORDABILITY_WINDOW_DAYS).
 */
export const WorkflowSettings = z
  .object({
    kycDepositThreshold: Amount.optional(),
    amlThreshold: Amount.optional(),
    amlThresholds: z.record(z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'), Amount).optional(),
    affordabilityThreshold: Amount.optional(),
    affordabilityWindowDays: z.number().int().min(1).max(365).optional(),
  })
  .strict();
export type WorkflowSettings = z.infer<typeof WorkflowSettings>;

/** Stores a new version of an operator's settings, in force from now on. */
export async function setWorkflowSettings(
  db: Queryable,
  operatorId: string,
  settings: WorkflowSettings,
): Promise<void> {
  await db.query(`insert into operator_workflow_settings (operator_id, settings) values ($1, $2)`, [
    operatorId,
    settings,
  ]);
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
  const { rows } = await db.query<{ settings: WorkflowSettings }>(
    `select settings from operator_workflow_settings
      where operator_id = $1 and valid_from <= coalesce($2::timestamptz, clock_timestamp())
      order by valid_from desc
      limit 1`,
    [operatorId, at ?? null],
  );
  return rows[0]?.settings ?? {};
}

type ThresholdConfig = Pick<
  Config,
  | 'KYC_DEPOSIT_THRESHOLD'
  | 'AML_THRESHOLD'
  | 'AML_THRESHOLDS'
  | 'AFFORDABILITY_THRESHOLD'
  | 'AFFORDABILITY_WINDOW_DAYS'
>;

/** Every parameter, the operator's own where it set one, else the environment's. */
export function effectiveThresholds(s: WorkflowSettings, config: ThresholdConfig) {
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
  };
}
