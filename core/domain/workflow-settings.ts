import { definitions } from '../../workflows/definitions';
import { triggersOf } from '../../workflows/definition';
import {
  setWorkflowSettings,
  workflowSettingsVersion,
  type WorkflowParameters,
  type WorkflowSettings,
} from '../db/workflow-settings';
import type { WorkflowDefaults } from '../config';
import type { Queryable } from '../db/pool';

/** Where a parameter's value comes from: the operator's own settings, or the environment. */
export type ParameterSource = 'operator' | 'default';
export interface EffectiveValue<T = number> {
  value: T;
  source: ParameterSource;
}

/** What `GET /workflows` and `PUT /workflows` answer (api/schemas/workflows.ts documents it). */
export interface WorkflowsView {
  definitions: Array<{ name: string; description: string; trigger: string[]; enabled: boolean }>;
  parameters: WorkflowParameters;
  effective: {
    kycDepositThreshold: EffectiveValue;
    /** For currencies not in `amlThresholds`. */
    amlThreshold: EffectiveValue;
    amlThresholds: Record<string, EffectiveValue>;
    affordabilityThreshold: EffectiveValue;
    affordabilityWindowDays: EffectiveValue;
    sourceOfFundsThreshold: EffectiveValue;
    sourceOfFundsWindowDays: EffectiveValue;
    sourceOfFundsDeadline: EffectiveValue<string>;
    sourceOfFundsReminder: EffectiveValue<string>;
    kycResultDeadline: EffectiveValue<string>;
  };
  /** When the version in force began; null while the operator has never set any. */
  validFrom: string | null;
}

/** What `PUT /workflows` takes: each definition on or off (absent: on), and the parameters. */
export interface WorkflowsUpdate {
  definitions?: Partial<Record<string, { enabled: boolean }>>;
  parameters?: WorkflowParameters;
}

const pick = <T>(own: T | undefined, fallback: T): EffectiveValue<T> =>
  own === undefined ? { value: fallback, source: 'default' } : { value: own, source: 'operator' };

/**
 * The effective parameters, in the order effectiveThresholds (the activities) applies them.
 * For AML an operator's flat threshold outranks the environment's per-currency ones, so those
 * are listed only while the operator has no flat threshold of its own.
 */
function effectiveOf(s: WorkflowParameters, env: WorkflowDefaults): WorkflowsView['effective'] {
  const amlThresholds: Record<string, EffectiveValue> = {};
  if (s.amlThreshold === undefined)
    for (const [currency, value] of Object.entries(env.AML_THRESHOLDS))
      amlThresholds[currency] = { value, source: 'default' };
  for (const [currency, value] of Object.entries(s.amlThresholds ?? {}))
    amlThresholds[currency] = { value, source: 'operator' };
  return {
    kycDepositThreshold: pick(s.kycDepositThreshold, env.KYC_DEPOSIT_THRESHOLD),
    amlThreshold: pick(s.amlThreshold, env.AML_THRESHOLD),
    amlThresholds,
    affordabilityThreshold: pick(s.affordabilityThreshold, env.AFFORDABILITY_THRESHOLD),
    affordabilityWindowDays: pick(s.affordabilityWindowDays, env.AFFORDABILITY_WINDOW_DAYS),
    sourceOfFundsThreshold: pick(s.sourceOfFundsThreshold, env.SOURCE_OF_FUNDS_THRESHOLD),
    sourceOfFundsWindowDays: pick(s.sourceOfFundsWindowDays, env.SOURCE_OF_FUNDS_WINDOW_DAYS),
    sourceOfFundsDeadline: pick(s.sourceOfFundsDeadline, env.SOURCE_OF_FUNDS_DEADLINE),
    sourceOfFundsReminder: pick(s.sourceOfFundsReminder, env.SOURCE_OF_FUNDS_REMINDER),
    kycResultDeadline: pick(s.kycResultDeadline, env.KYC_RESULT_DEADLINE),
  };
}

export function workflowsView(
  version: { settings: WorkflowSettings; validFrom: Date } | undefined,
  env: WorkflowDefaults,
): WorkflowsView {
  const { disabledDefinitions = [], ...parameters } = version?.settings ?? {};
  return {
    definitions: definitions.map((d) => ({
      name: d.name,
      description: d.description,
      trigger: triggersOf(d.trigger),
      enabled: !disabledDefinitions.includes(d.name),
    })),
    parameters,
    effective: effectiveOf(parameters, env),
    validFrom: version ? version.validFrom.toISOString() : null,
  };
}

/** The operator's settings in force now, with the environment's defaults filled in. */
export async function getWorkflows(db: Queryable, operatorId: string, env: WorkflowDefaults) {
  return workflowsView(await workflowSettingsVersion(db, operatorId), env);
}

/**
 * Replaces the operator's settings with a new version: from its commit on, events recorded
 * plan only the enabled definitions and are judged by these parameters; events recorded
 * before keep their plan and their version.
 */
export async function putWorkflows(
  db: Queryable,
  operatorId: string,
  update: WorkflowsUpdate,
  env: WorkflowDefaults,
): Promise<WorkflowsView> {
  const disabled = definitions
    .filter((d) => update.definitions?.[d.name]?.enabled === false)
    .map((d) => d.name);
  const settings: WorkflowSettings = {
    ...update.parameters,
    ...(disabled.length > 0 ? { disabledDefinitions: disabled } : {}),
  };
  const { validFrom } = await setWorkflowSettings(db, operatorId, settings);
  return workflowsView({ settings, validFrom }, env);
}
