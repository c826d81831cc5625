import {
  closeWait,
  lookbackPage,
  registerWait,
  type LookbackPage,
  type WaitCancellation,
  type WaitKey,
  type WaitRegistration,
} from '../core/db/waits';
import type { ResolvedDeps } from './index';

/** The steps of `ctx.waitFor` that touch Postgres (workflows/waits.ts; the design in core/db/waits.ts). */
export function waitActivities(deps: ResolvedDeps) {
  return {
    /**
     * Registers the wait, then reads its first lookback page in a later statement (after the
     * registration committed: the order the no-miss argument needs). Safe to retry.
     */
    async openWait(w: WaitRegistration): Promise<LookbackPage> {
      await registerWait(deps.pool, w);
      return lookbackPage(deps.pool, {
        operatorId: w.operatorId,
        workflowId: w.workflowId,
        waitId: w.waitId,
      });
    },

    /** A further lookback page, when more recorded events than one page may match. */
    async readWaitLookback(q: WaitKey & { after: { at: string; id: string } }): Promise<LookbackPage> {
      return lookbackPage(deps.pool, q);
    },

    /**
     * Ends the wait. After a timeout (`lookback`), first reads what was recorded since it
     * opened: an event recorded before the deadline whose signal came late (Temporal paused, a
     * worker down at the deadline) still counts, judged by when it was recorded. A cancelled
     * wait leaves what cancelled it (`cancelledBy`) for the fan-out status.
     */
    async closeWait(
      q: WaitKey & { lookback?: boolean; cancelledBy?: WaitCancellation },
    ): Promise<LookbackPage | null> {
      const page = q.lookback ? await lookbackPage(deps.pool, q) : null;
      await closeWait(deps.pool, q);
      return page;
    },
  };
}
