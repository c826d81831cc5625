import path from 'node:path';
import { localDir } from './stack-file';

/** Everything `npm start` can be told through the environment, with its defaults. */
export interface DevStackSettings {
  localDir: string;
  apiPort: number;
  pgPort: number;
  temporalPort: number;
  temporalUiPort: number;
  kycPort: number;
  /** The worker's /metrics (read by the status line); unset: a free port. */
  workerMetricsPort?: number;
  /** Set → use this database instead of starting embedded Postgres. */
  databaseUrl?: string;
  /** Set → use this Temporal server instead of starting the dev server. */
  temporalAddress?: string;
  namespace: string;
  taskQueue: string;
  pgDataDir: string;
  temporalDbFile: string;
}

export function readDevStackSettings(env: NodeJS.ProcessEnv = process.env): DevStackSettings {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      throw new Error(`${name} must be a port number (1-65535), got "${raw}"`);
    }
    return value;
  };
  const dir = localDir();
  return {
    localDir: dir,
    apiPort: port('PORT', 3000),
    pgPort: port('PG_PORT', 54329),
    temporalPort: port('TEMPORAL_PORT', 7233),
    temporalUiPort: port('TEMPORAL_UI_PORT', 8233),
    kycPort: port('KYC_PORT', 4010),
    workerMetricsPort: env.WORKER_METRICS_PORT ? port('WORKER_METRICS_PORT', 0) : undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    temporalAddress: env.TEMPORAL_ADDRESS || undefined,
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: env.TEMPORAL_TASK_QUEUE || 'entity-events',
    pgDataDir: path.join(dir, 'postgres'),
    temporalDbFile: path.join(dir, 'temporal.db'),
  };
}
