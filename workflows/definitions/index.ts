import type { Definition } from '../definition';
import { affordabilityCheck } from './affordability-check';
import { amlThreshold } from './aml-threshold';
import { kycOnDeposit } from './kyc-on-deposit';
import { kycResult } from './kyc-result';
import { operatorWebhook } from './operator-webhook';
import { selfExclusion } from './self-exclusion';
import { sourceOfFunds } from './source-of-funds';

/**
 * Every registered definition: one line per definition. An event's plan lists, in this
 * order, the definitions whose trigger and condition match it when it is recorded.
 */
export const definitions: readonly Definition[] = [
  kycOnDeposit,
  kycResult,
  amlThreshold,
  affordabilityCheck,
  sourceOfFunds,
  selfExclusion,
  operatorWebhook,
];

export {
  affordabilityCheck,
  amlThreshold,
  kycOnDeposit,
  kycResult,
  operatorWebhook,
  selfExclusion,
  sourceOfFunds,
};
