// The worker's only workflowsPath: every workflow type the worker can run.
export { fanOut } from './fanout';
export { applyRetention } from './retention';
export * from './definitions';
