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

/**
 * The Temporal Web UI that scripts/test.ts started with the dev server (TEMPORAL_UI_URL), and
 * the browser it found or installed (CHROMIUM_PATH). Throws, never skips: a missing browser
 * is a failed test.
 */
export function browserTestEnv() {
  const uiUrl = process.env.TEMPORAL_UI_URL;
  const chromiumPath = process.env.CHROMIUM_PATH;
  if (!uiUrl) {
    throw new Error(
      'TEMPORAL_UI_URL is not set: run the tests with `npm test` (it starts the Temporal dev server with its UI), or set it next to TEMPORAL_ADDRESS.',
    );
  }
  if (!chromiumPath) {
    throw new Error(
      process.env.CHROMIUM_UNAVAILABLE ??
        'CHROMIUM_PATH is not set: run the tests with `npm test` (it finds or installs Chromium), or set it to a Chromium binary.',
    );
  }
  return { uiUrl, chromiumPath };
}

export const TEMPLATE_DB = 'igaming_test_template';
export const WORKFLOW_BUNDLE = path.join(__dirname, '..', '..', '.local', 'test-workflow-bundle.js');

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}
