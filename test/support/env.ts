import path from 'node:path';

/** Where the test runner (scripts/test.ts) or the caller put the shared services. */
export function testEnv() {
  const adminUrl = process.env.DATABASE_URL;
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!adminUrl || !temporalAddress) {
    throw new Error(
      'Run the tests with `npm test`: it starts Postgres and Temporal (or set DATABASE_URL and TEMPORAL_ADDRESS).',
    );
  }
  return { adminUrl, temporalAddress, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' };
}

export const TEMPLATE_DB = 'igaming_test_template';
export const WORKFLOW_BUNDLE = path.join(__dirname, '..', '..', '.local', 'test-workflow-bundle.js');

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}
