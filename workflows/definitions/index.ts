// Registered workflow definitions: one line per definition. The fan-out workflow runs
// every definition exported here whose trigger and condition match the internal event.
export { kycOnDeposit } from './kyc-on-deposit';
export { amlThreshold } from './aml-threshold';
export { affordabilityCheck } from './affordability-check';
export { selfExclusion } from './self-exclusion';
export { operatorWebhook } from './operator-webhook';
// Not a definition (no trigger; fanOut skips it): the child that delivers alerts and
// forwarded events, exported so the worker registers its workflow type.
export { deliverWebhook } from './deliver-webhook';
