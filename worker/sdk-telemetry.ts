import {
  MetricsBuffer,
  Runtime,
  makeTelemetryFilterString,
  type LogLevel,
  type LogMetadata,
  type Logger as SdkLogger,
} from '@temporalio/worker';
import type { Logger } from '../core/logger';
import type { WorkerMetrics } from './metrics';

const PINO_LEVEL = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The Temporal SDK's logger as pino: one JSON line per message, from the SDK itself, its Rust
 * core (forwarded) and workflow code's `log` alike, with the SDK's metadata (workflowId,
 * sdkComponent, …) as fields, instead of the default logger's multi-line objects.
 */
export class PinoSdkLogger implements SdkLogger {
  constructor(private readonly pino: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    this.pino[PINO_LEVEL[level]]({ ...meta }, message);
  }
  trace = (message: string, meta?: LogMetadata) => this.log('TRACE', message, meta);
  debug = (message: string, meta?: LogMetadata) => this.log('DEBUG', message, meta);
  info = (message: string, meta?: LogMetadata) => this.log('INFO', message, meta);
  warn = (message: string, meta?: LogMetadata) => this.log('WARN', message, meta);
  error = (message: string, meta?: LogMetadata) => this.log('ERROR', message, meta);
}

/** Core's per-workflow outcome counters, by the outcome our metric reports. */
const OUTCOMES: Record<string, string> = {
  workflow_completed: 'completed',
  workflow_failed: 'failed',
  workflow_canceled: 'cancelled',
  workflow_continue_as_new: 'continued_as_new',
};

/**
 * Installs the SDK runtime with our logger, and with core's metrics buffered so that workflow
 * outcomes reach the worker's own /metrics (workflow_completions_total); drained every second.
 */
export function installSdkRuntime(log: Logger, metrics: WorkerMetrics): { stop(): void } {
  const buffer = new MetricsBuffer({ maxBufferSize: 100_000 });
  Runtime.install({
    logger: new PinoSdkLogger(log.child({ component: 'temporal-sdk' })),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      metrics: { buffer },
    },
  });
  const drain = () => {
    for (const update of buffer.retrieveUpdates()) {
      // Buffered names carry the exporters' prefix (temporal_workflow_completed).
      const outcome = OUTCOMES[update.metric.name.replace(/^temporal_/, '')];
      if (!outcome || update.metric.kind !== 'counter') continue;
      const workflowType = String(update.attributes.workflow_type ?? 'unknown');
      metrics.workflowCompletions.inc({ workflow_type: workflowType, outcome }, update.value);
    }
  };
  const timer = setInterval(drain, 1000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      drain();
    },
  };
}
