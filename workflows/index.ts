// The worker's only workflowsPath: every workflow type the worker can run.
export { fanOut } from './fanout';
export * from './definitions';
