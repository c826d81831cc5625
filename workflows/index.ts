// The worker's only workflowsPath: every workflow type the worker can run.
export { processEvent } from './process-event';
export { applyRetention } from './retention';
export { resendWebhookMessage } from './resend-webhook';
export { recoverWebhookEndpoint } from './recover-webhooks';
// The retired fan-out shape and its child types, until none of them runs (see that module).
export {
  fanOut,
  kycOnDeposit,
  amlThreshold,
  affordabilityCheck,
  selfExclusion,
  operatorWebhook,
  deliverWebhook,
} from './legacy/fanout-v1';
// Re-drives and backfills of one definition over past events (npm run cli -- fanout …).
export { redriveDefinition } from './redrive';
