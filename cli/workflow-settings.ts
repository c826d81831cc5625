import type { Command } from 'commander';
import { getOperator } from '../core/db/operators';
import type { Db } from '../core/db/pool';
import { WorkflowSettings, setWorkflowSettings, workflowSettingsAt } from '../core/db/workflow-settings';

export interface WorkflowSettingsCliDeps {
  withDb(fn: (db: Db) => Promise<void>): () => Promise<void>;
  fail(message: string): never;
}

/** `operators workflow-settings <operatorId> [--set <json>]`: read or replace an operator's parameters. */
export function registerWorkflowSettingsCommand(operators: Command, deps: WorkflowSettingsCliDeps): void {
  operators
    .command('workflow-settings <operatorId>')
    .description(
      "An operator's KYC, AML and affordability parameters (unset ones: the worker's environment) and switched-off definitions; --set replaces them for events recorded from now on (as PUT /workflows)",
    )
    .option(
      '--set <json>',
      'e.g. \'{"amlThresholds":{"GBP":1700},"kycDepositThreshold":2000,"disabledDefinitions":["affordability-check"]}\'',
    )
    .option('--json', 'print one JSON object')
    .action((operatorId: string, opts: { set?: string; json?: boolean }) =>
      deps.withDb(async (db) => {
        if (!(await getOperator(db, operatorId))) deps.fail(`No operator ${operatorId}`);
        if (opts.set !== undefined) {
          let raw: unknown;
          try {
            raw = JSON.parse(opts.set);
          } catch {
            deps.fail('--set must be a JSON object');
          }
          const parsed = WorkflowSettings.safeParse(raw);
          if (!parsed.success)
            deps.fail(
              `--set: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
            );
          await setWorkflowSettings(db, operatorId, parsed.data);
        }
        const settings = await workflowSettingsAt(db, operatorId);
        console.log(
          opts.json
            ? JSON.stringify({ operatorId, settings })
            : `Workflow settings of ${operatorId} (for events recorded from now on): ${JSON.stringify(settings)}\n` +
                "Unset parameters use the worker's environment (KYC_DEPOSIT_THRESHOLD, AML_THRESHOLDS, AML_THRESHOLD, AFFORDABILITY_THRESHOLD, AFFORDABILITY_WINDOW_DAYS).",
        );
      })(),
    );
}
