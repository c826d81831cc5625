/**
 * Real local services for the dev stack, the test runner and benchmarks. Each one is a
 * managed child process (see children.ts) that cannot outlive the process that started it.
 */
export { startPostgres, ensureDatabase, type PostgresHandle, type PostgresOptions } from './postgres';
export { startTemporal, type TemporalHandle, type TemporalOptions } from './temporal-server';
export { freePort } from './ports';
