import type { Priority } from '@temporalio/common';

/**
 * The Temporal priority of everything one operator's work puts on the shared task queue: the
 * operator is its fairness key. With fairness on in the server (`matching.enableFairness`:
 * scripts/lib/temporal-server.ts for the dev server, deploy/temporal/dynamicconfig for
 * docker-compose), matching dispatches a backlog round-robin across keys instead of first in,
 * first out, so one operator's 5,000-deposit batch no longer queues another operator's KYC
 * check behind all of its own work (docs/SCALING.md).
 *
 * Set on every start of an operator's workflow (events, state changes, webhook resends and
 * recoveries, re-drives and their re-runs) and again on each of their activities: Temporal
 * documents that activities inherit the workflow's priority, but the activity task our worker
 * receives showed no key when left to inheritance (test/core/fanout-fairness.test.ts), and
 * setting it also keys the activities of workflows started before their starts carried one.
 * Workflow-safe (workflows and the client side share it).
 */
export const operatorPriority = (operatorId: string): Priority => ({ fairnessKey: operatorId });
