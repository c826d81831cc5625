import http from 'node:http';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of the worker process, on its own registry (tests create several workers). */
export function createWorkerMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const activityOutcomes = new Counter({
    name: 'activity_executions_total',
    help: 'Activity attempts by activity type and outcome (completed, failed, cancelled)',
    labelNames: ['activity_type', 'outcome'],
    registers: [registry],
  });
  const activityDuration = new Histogram({
    name: 'activity_duration_seconds',
    help: 'Duration of one activity attempt, by activity type and outcome',
    labelNames: ['activity_type', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const workflowCompletions = new Counter({
    name: 'workflow_completions_total',
    help: 'Workflow runs this worker finished, by workflow type and outcome (completed, failed, cancelled, continued_as_new)',
    labelNames: ['workflow_type', 'outcome'],
    registers: [registry],
  });
  return { registry, activityOutcomes, activityDuration, workflowCompletions };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** `GET /metrics` (and nothing else) on `port`; resolves with the bound port once listening. */
export async function serveMetrics(
  metrics: WorkerMetrics,
  port: number,
  host: string,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
