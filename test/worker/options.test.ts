import { parseConfig } from '../../core/config';
import { workerOptions } from '../../worker/options';
import { TASK_QUEUE_PARTITIONS_DYNAMIC_CONFIG } from '../../scripts/lib/temporal-server';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const env = { DATABASE_URL: 'postgres://u:p@localhost:5432/db' };

/**
 * The worker's task slots and the one task-queue partition are what the kyc-fairness bench
 * measured (docs/BENCHMARKS.md, "Fairness to the activity"): kept as measured, everywhere.
 */
describe('worker options', () => {
  it('hold 8 workflow tasks at once unless told otherwise, and leave the cache to the SDK', () => {
    const o = workerOptions(parseConfig(env));
    expect(o.maxConcurrentWorkflowTaskExecutions).toBe(8);
    expect(o).not.toHaveProperty('maxCachedWorkflows');
  });

  it('take WORKER_WORKFLOW_TASK_SLOTS and WORKER_WORKFLOW_CACHE from the environment', () => {
    const o = workerOptions(
      parseConfig({ ...env, WORKER_WORKFLOW_TASK_SLOTS: '40', WORKER_WORKFLOW_CACHE: '0' }),
    );
    expect(o).toMatchObject({ maxConcurrentWorkflowTaskExecutions: 40, maxCachedWorkflows: 0 });
  });

  it('refuse a slot count the SDK would refuse, naming the variable', () => {
    expect(() => parseConfig({ ...env, WORKER_WORKFLOW_TASK_SLOTS: '1' })).toThrow(
      /WORKER_WORKFLOW_TASK_SLOTS/,
    );
  });

  it("give docker-compose's Temporal the local stack's one partition for the service's task queue", () => {
    const root = path.join(__dirname, '..', '..');
    const config = parse(
      fs.readFileSync(path.join(root, 'deploy/temporal/dynamicconfig/production-sql.yaml'), 'utf8'),
    ) as Record<string, Array<{ value: unknown; constraints: Record<string, string> }>>;
    const compose = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    const taskQueue = /TEMPORAL_TASK_QUEUE: (\S+)/.exec(compose)?.[1];
    expect(taskQueue).toBeDefined();
    for (const [key, value] of Object.entries(TASK_QUEUE_PARTITIONS_DYNAMIC_CONFIG))
      expect(config[key]).toEqual([{ value, constraints: { taskQueueName: taskQueue } }]);
  });
});
