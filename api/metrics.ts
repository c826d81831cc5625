import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DispatcherMetrics } from '../core/fanout/dispatcher';

export interface HttpMetrics {
  observe(method: string, route: string, status: number, seconds: number): void;
}

/** Prometheus metrics of the API process, on its own registry (tests create several apps). */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const eventsRecorded = new Counter({
    name: 'events_recorded_total',
    help: 'Events recorded, by event type',
    labelNames: ['event_type'],
    registers: [registry],
  });
  const fanoutStarted = new Counter({
    name: 'fanout_workflows_started_total',
    help: 'Fan-out workflows started, by path (immediate after commit, or relay sweep)',
    labelNames: ['path'],
    registers: [registry],
  });
  const fanoutStartFailures = new Counter({
    name: 'fanout_workflow_start_failures_total',
    help: 'Failed workflow start attempts (retried by the relay)',
    labelNames: ['path'],
    registers: [registry],
  });
  const fanoutLag = new Histogram({
    name: 'fanout_lag_seconds',
    help: 'Commit to workflow started',
    labelNames: ['path'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const backlog = new Gauge({
    name: 'fanout_backlog',
    help: 'Outbox rows not yet started',
    registers: [registry],
  });
  const oldest = new Gauge({
    name: 'fanout_oldest_pending_seconds',
    help: 'Age of the oldest outbox row not yet started',
    registers: [registry],
  });

  const http: HttpMetrics = {
    observe: (method, route, status, seconds) =>
      requests.observe({ method, route, status: String(status) }, seconds),
  };
  const dispatcher: DispatcherMetrics = {
    started: (path, lag) => {
      fanoutStarted.inc({ path });
      if (lag !== undefined) fanoutLag.observe({ path }, lag);
    },
    startFailed: (path) => fanoutStartFailures.inc({ path }),
  };
  const eventGroupSize = new Histogram({
    name: 'event_write_group_size',
    help: 'Single events written by one statement and one commit (concurrent POST /events share them)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  return { registry, http, dispatcher, eventsRecorded, eventGroupSize, backlog, oldest };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
