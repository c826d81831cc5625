import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { logContext, type Logger } from '../core/logger';
import type { WorkerMetrics } from './metrics';

/** Temporal marks a cancelled activity with a CancelledFailure (matched by name across realms). */
const isCancellation = (err: unknown) => (err as { name?: string })?.name === 'CancelledFailure';

/**
 * Around every activity attempt: stamps the workflow ID, activity type and attempt on each
 * log line the activity writes (through the same AsyncLocalStorage as request ids), logs the
 * outcome, and counts it by activity type for /metrics.
 */
export function activityInterceptor(log: Logger, metrics: WorkerMetrics): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const info = ctx.info;
        const fields = {
          workflowId: info.workflowExecution?.workflowId ?? '',
          activityType: info.activityType,
          attempt: String(info.attempt),
        };
        const started = process.hrtime.bigint();
        const done = (outcome: 'completed' | 'failed' | 'cancelled') => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.activityOutcomes.inc({ activity_type: info.activityType, outcome });
          metrics.activityDuration.observe({ activity_type: info.activityType, outcome }, seconds);
          return Math.round(seconds * 1e5) / 100;
        };
        return logContext.run(fields, async () => {
          try {
            const result = await next(input);
            log.debug({ ms: done('completed') }, 'activity completed');
            return result;
          } catch (err) {
            const outcome = isCancellation(err) ? 'cancelled' : 'failed';
            // Only the error's type and message: its details could carry input data.
            const e = err as { name?: string; message?: string; type?: string };
            log.warn(
              { ms: done(outcome), error: { name: e?.name, type: e?.type, message: e?.message } },
              `activity ${outcome}`,
            );
            throw err;
          }
        });
      },
    },
  });
}
