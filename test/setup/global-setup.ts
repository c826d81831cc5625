import { Client } from 'pg';
import { runMigrations } from '../../core/db/migrate';
import { buildWorkflowBundle } from '../../scripts/build-workflow-bundle';
import { TEMPLATE_DB, WORKFLOW_BUNDLE, testEnv, withDatabase } from '../support/env';

/**
 * Once per run: a migrated template database (each test file clones its own from it) and
 * one workflow bundle (each test file's worker loads it instead of bundling again).
 */
export default async function globalSetup(): Promise<void> {
  const { adminUrl } = testEnv();
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${TEMPLATE_DB} with (force)`);
    await admin.query(`create database ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  await runMigrations(withDatabase(adminUrl, TEMPLATE_DB));

  // The same builder as `npm run build`, here from the TypeScript sources.
  await buildWorkflowBundle(WORKFLOW_BUNDLE);
}
