import { z } from 'zod';
import { WorkflowParameters } from '../../core/db/workflow-settings';
import { definitions } from '../../workflows/definitions';
import { ok } from './common';

const DefinitionSwitch = z
  .object({
    enabled: z.boolean().meta({ description: 'false: left out of the plan of events recorded from now on' }),
  })
  .strict();

const KNOWN = definitions.map((d) => d.name);

/** One optional switch per registered definition: any other name is refused, naming the known ones. */
const DefinitionSwitches = z
  .strictObject(Object.fromEntries(KNOWN.map((name) => [name, DefinitionSwitch.optional()])), {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown definition ${issue.keys.map((k) => `"${k}"`).join(', ')}; known: ${KNOWN.join(', ')}`
        : undefined,
  })
  .meta({ id: 'WorkflowDefinitionSwitches', description: 'Each definition on or off; one left out is on' });

export const Parameters = WorkflowParameters.meta({
  id: 'WorkflowParameters',
  description: "The operator's own parameters; one left out uses the environment's default",
});

export const PutWorkflowsBody = z
  .object({ definitions: DefinitionSwitches.optional(), parameters: Parameters.optional() })
  .strict()
  .meta({
    id: 'PutWorkflowsRequest',
    description: "Replaces the operator's workflow settings (a new version, in force from now on)",
  });

const Source = z
  .enum(['operator', 'default'])
  .meta({ description: "operator: its own; default: the environment's" });
const Effective = z.object({ value: z.number(), source: Source });
const EffectiveDuration = z.object({
  value: z.string().meta({ description: 'A duration, e.g. 30d' }),
  source: Source,
});

export const WorkflowsState = ok(
  z
    .object({
      definitions: z.array(
        z.object({
          name: z.string(),
          description: z.string(),
          trigger: z
            .array(z.string())
            .meta({ description: 'Internal events it runs on; a trailing * is a prefix' }),
          enabled: z.boolean(),
        }),
      ),
      parameters: Parameters,
      effective: z.object({
        kycDepositThreshold: Effective,
        amlThreshold: Effective.meta({ description: 'For currencies not in amlThresholds' }),
        amlThresholds: z.record(z.string(), Effective),
        affordabilityThreshold: Effective,
        affordabilityWindowDays: Effective,
        sourceOfFundsThreshold: Effective,
        sourceOfFundsWindowDays: Effective,
        sourceOfFundsDeadline: EffectiveDuration,
        sourceOfFundsReminder: EffectiveDuration,
        kycResultDeadline: EffectiveDuration,
      }),
      validFrom: z
        .string()
        .nullable()
        .meta({ description: 'When the version in force began; null if the operator never set one' }),
    })
    .meta({ id: 'WorkflowSettings' }),
);
