// The worker's only workflowsPath: every workflow type the worker can run.
export { processEvent } from './process-event';
export { applyRetention } from './retention';
export { resendWebhookMessage } from './resend-webhook';
export { recoverWebhookEndpoint } from './recover-webhooks';
// Re-drives and backfills of one definition over past events (npm run cli -- fanout …).
export { redriveDefinition } from './redrive';
// Events partitions created ahead of need (the event-partitions schedule).
export { maintainEventPartitions } from './partitions';
