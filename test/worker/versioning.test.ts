import { parseConfig } from '../../core/config';
import { bundleBuildId, DEFAULT_VERSIONING_BEHAVIOR, workerVersion } from '../../worker/versioning';
import * as registered from '../../workflows';

const behaviourOf = (fn: unknown): string | undefined => {
  const options = (fn as { workflowDefinitionOptions?: { versioningBehavior?: string } })
    .workflowDefinitionOptions;
  return options?.versioningBehavior;
};

describe('Worker Deployment Versioning settings', () => {
  it('declares a versioning behaviour for every workflow type, as README says', () => {
    const declared = Object.fromEntries(
      Object.entries(registered)
        .filter(([, fn]) => typeof fn === 'function')
        .map(([name, fn]) => [name, behaviourOf(fn)]),
    );
    expect(declared).toEqual({
      processEvent: 'PINNED',
      applyRetention: 'PINNED',
      redriveDefinition: 'AUTO_UPGRADE',
      resendWebhookMessage: 'AUTO_UPGRADE',
      recoverWebhookEndpoint: 'AUTO_UPGRADE',
      maintainEventPartitions: 'PINNED',
    });
    expect(DEFAULT_VERSIONING_BEHAVIOR).toBe('PINNED');
  });

  it('takes the build id from WORKER_BUILD_ID, else from a hash of the workflow bundle', () => {
    const dev = parseConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db' });
    expect(dev.TEMPORAL_DEPLOYMENT_NAME).toBe('igaming-event-ingest');
    expect(workerVersion(dev, 'bundle A')).toEqual({
      deploymentName: 'igaming-event-ingest',
      buildId: bundleBuildId('bundle A'),
    });
    expect(bundleBuildId('bundle A')).toMatch(/^wf-[0-9a-f]{16}$/);
    expect(bundleBuildId('bundle A')).toBe(bundleBuildId('bundle A'));
    expect(bundleBuildId('bundle B')).not.toBe(bundleBuildId('bundle A'));
    // Compose passes an unset variable as empty: that is the default too.
    expect(
      parseConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db', WORKER_BUILD_ID: '' }).WORKER_BUILD_ID,
    ).toBeUndefined();
    const pinned = parseConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db', WORKER_BUILD_ID: 'git-4f2a9c1' });
    expect(workerVersion(pinned, 'bundle A').buildId).toBe('git-4f2a9c1');
    expect(() => parseConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db', WORKER_BUILD_ID: 'a:b' })).toThrow(
      /WORKER_BUILD_ID/,
    );
  });

  it('makes the worker set its version current outside production only (production: a deploy step)', () => {
    const base = { DATABASE_URL: 'postgres://x@127.0.0.1/db' };
    expect(parseConfig(base).WORKER_SET_CURRENT_VERSION).toBe(true);
    expect(parseConfig({ ...base, NODE_ENV: 'test' }).WORKER_SET_CURRENT_VERSION).toBe(true);
    const production = { ...base, NODE_ENV: 'production', PII_MASTER_KEY: 'k'.repeat(64) };
    expect(parseConfig(production).WORKER_SET_CURRENT_VERSION).toBe(false);
    expect(
      parseConfig({ ...production, WORKER_SET_CURRENT_VERSION: 'true' }).WORKER_SET_CURRENT_VERSION,
    ).toBe(true);
  });
});
