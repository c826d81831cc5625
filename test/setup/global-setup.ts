import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client } from 'pg';
import { runMigrations } from '../../core/db/migrate';
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

  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  await mkdir(path.dirname(WORKFLOW_BUNDLE), { recursive: true });
  await writeFile(WORKFLOW_BUNDLE, code);
}
