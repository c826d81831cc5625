import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { RedriveCriteria } from '../../workflows/redrive-types';
import { withTransaction, type Db, type Queryable } from '../db/pool';
import { lockRedrivesOf, registerRedrive, registeredOverlaps, type RegisteredRedrive } from '../db/redrives';

/** How a guarded start ended: started, refused because another runs, or the id exists already. */
export type GuardedStart =
  | { kind: 'started' }
  | { kind: 'refused'; running: RegisteredRedrive }
  | { kind: 'exists' };

async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    // Describe reads the execution itself (strongly consistent), where a visibility list may
    // lag; without a run id it is the latest run, so a re-drive between continue-as-new runs
    // still counts as running.
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    // Registered, but its start failed after all, or it is past the namespace's retention.
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * A registered re-drive of the same definition over overlapping events whose workflow is still
 * running, if any. Ended ones (completed, failed, terminated) stay registered and are ignored.
 */
export async function runningOverlap(
  db: Queryable,
  client: Client,
  c: RedriveCriteria,
): Promise<RegisteredRedrive | null> {
  const candidates = await registeredOverlaps(db, c);
  const running = await Promise.all(candidates.map((r) => isRunning(client, r.workflowId)));
  return candidates.find((_, i) => running[i]) ?? null;
}

/**
 * Starts a re-drive unless an overlapping one runs, atomically: under a transaction-scoped
 * advisory lock per definition, it checks the registered overlaps, registers this one and
 * starts its workflow before committing. A second CLI started at the same moment waits for the
 * lock, then finds this one registered and running, and is refused. The start happens inside the
 * transaction on purpose: registered-then-started-after-commit would let the second CLI describe
 * a workflow that does not exist yet and take it for ended. (A crash between the start and the
 * commit leaves a running re-drive unregistered; the window is one round trip.)
 */
export async function startRedriveAlone(
  pool: Db,
  client: Client,
  r: { criteria: RedriveCriteria; redriveId: string; workflowId: string; start: () => Promise<unknown> },
): Promise<GuardedStart> {
  return withTransaction(pool, async (tx) => {
    await lockRedrivesOf(tx, r.criteria.definition);
    const running = await runningOverlap(tx, client, r.criteria);
    if (running) return running.id === r.redriveId ? { kind: 'exists' } : { kind: 'refused', running };
    const registered = await registerRedrive(tx, {
      ...r.criteria,
      id: r.redriveId,
      workflowId: r.workflowId,
    });
    if (!registered) return { kind: 'exists' };
    await r.start();
    return { kind: 'started' };
  });
}
