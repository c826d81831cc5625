import { z } from 'zod';
import { DurationString } from './duration';

/**
 * The only reader of process.env. Parsed once, at start-up; a bad value stops the
 * process with a message that names the variable.
 */
const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
/** A JSON-encoded value checked against `inner`. */
const jsonRecord = <T extends z.ZodType>(inner: T) =>
  z
    .string()
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(inner);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: port.default(3000),
  /** The worker's Prometheus endpoint (GET /metrics: activity outcomes); unset: not served. */
  WORKER_METRICS_PORT: port.optional(),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().url(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('entity-events'),
  /**
   * Worker Deployment Versioning (worker/versioning.ts): the worker polls as version
   * TEMPORAL_DEPLOYMENT_NAME:WORKER_BUILD_ID, and each workflow type is pinned to the build that
   * started it or auto-upgrades, as its file declares. Always on: a worker without a version
   * cannot run workflow types that declare a behaviour (the 1.24 SDK's core answers "versioning
   * behavior cannot be specified without deployment options being set with versioned mode").
   */
  TEMPORAL_DEPLOYMENT_NAME: z.string().min(1).default('igaming-event-ingest'),
  /**
   * Unset or empty: a hash of the workflow bundle the worker loads, so a change to workflow code
   * is a new build and a change to activities only is not (set it, e.g. to the image's commit,
   * to make every release its own version).
   */
  WORKER_BUILD_ID: z
    .string()
    .max(255)
    .regex(/^[^:]*$/, 'must not contain ":" (it separates deployment name and build id)')
    .optional()
    .transform((v) => (v ? v : undefined)),
  /**
   * true: the worker makes its version the deployment's current one once it polls. Outside
   * production it defaults to true (DEV_DEFAULTS: the local stack, tests, bench, faults); in
   * production the current version is set as a deploy step (docs/ops/deploy.md).
   */
  WORKER_SET_CURRENT_VERSION: bool.default(false),
  /**
   * The worker's workflow-task slots (maxConcurrentWorkflowTaskExecutions): how many workflow
   * tasks one worker holds at once. Tasks it has not taken wait on the server, where fairness
   * keys take turns between operators; tasks it has taken wait in its own line. 8, not the
   * SDK's 40: beside a busy operator's backlog another operator's tasks spent 0.77 s in the
   * worker at 40 and 0.27 s at 8, at the same throughput (bench kyc-fairness,
   * docs/BENCHMARKS.md). A worker far from its server (Temporal Cloud) may want more.
   */
  WORKER_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(2).max(1000).default(8),
  /**
   * Workflows the worker keeps in memory between tasks (maxCachedWorkflows; their later tasks go
   * to its sticky queue). 0: none, every task goes to the shared queue and replays its history.
   * Unset: the SDK's default, sized from the heap.
   */
  WORKER_WORKFLOW_CACHE: z.coerce.number().int().min(0).optional(),
  /** 32+ byte secret (hex or base64) from which per-operator PII keys are derived. */
  PII_MASTER_KEY: z.string().min(32),
  /** Relay sweep period for events whose immediate workflow start did not happen. */
  FANOUT_RELAY_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  FANOUT_RELAY_ENABLED: bool.default(true),
  /**
   * Workflow starts in flight at once per API process; more rows wait for the relay. Unset:
   * the dispatcher's measured default (DEFAULT_MAX_IN_FLIGHT in core/fanout/dispatcher.ts).
   */
  FANOUT_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).optional(),
  /**
   * Single events recorded together (core/domain/event-writer.ts): at most this many per
   * statement, at most this many statements at once, and how long an event may wait for others
   * while one is being written (0: only while every statement slot is busy; never when idle).
   * Measured in bench/ (quick ingest, same machine, minutes apart; Temporal frozen, 64 conn):
   * 1, 2, 4, 8 statements at once gave 5,448, 5,470–6,313, 4,029, 4,103 events/s and 0.07, 0.07–0.08,
   * 0.13, 0.16 ms of Postgres CPU per event: fewer, larger groups cost Postgres less.
   */
  RECORD_GROUP_MAX_SIZE: z.coerce.number().int().min(1).max(5000).default(256),
  RECORD_GROUP_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(2),
  RECORD_GROUP_WINDOW_MS: z.coerce.number().int().min(0).max(1000).default(0),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(6000),
  KYC_PROVIDER_URL: z.string().url().default('http://127.0.0.1:4010'),
  KYC_PROVIDER_API_KEY: z.string().default('sandbox'),
  KYC_DEPOSIT_THRESHOLD: z.coerce.number().min(0).default(1000),
  AML_THRESHOLD: z.coerce.number().min(0).default(2000),
  AFFORDABILITY_THRESHOLD: z.coerce.number().min(0).default(150),
  HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).default(10000),
  /** Per-currency AML thresholds as JSON, e.g. `{"EUR":2000,"GBP":1700}`; AML_THRESHOLD for the rest. */
  AML_THRESHOLDS: jsonRecord(
    z.record(z.string().regex(/^[A-Z]{3}$/, 'keys must be ISO-4217 codes'), z.number().min(0)),
  ).default({}),
  AFFORDABILITY_WINDOW_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** source-of-funds: deposits over the window at or over this amount (in the deposit's currency) ask for it. */
  SOURCE_OF_FUNDS_THRESHOLD: z.coerce.number().min(0).default(2000),
  SOURCE_OF_FUNDS_WINDOW_DAYS: z.coerce.number().int().min(1).max(3650).default(180),
  /** How long the player has to provide it (a duration: 30d, 72h, 20s), and when to remind the operator. */
  SOURCE_OF_FUNDS_DEADLINE: DurationString.default('30d'),
  SOURCE_OF_FUNDS_REMINDER: DurationString.default('20d'),
  /** kyc-on-deposit: how long a pending check's result is awaited before kyc_status is overdue. */
  KYC_RESULT_DEADLINE: DurationString.default('24h'),
  /** Webhook deliveries retry on durable timers: first wait, longest wait, and how long to keep trying. */
  WEBHOOK_RETRY_INITIAL_MS: z.coerce.number().int().min(10).default(10_000),
  WEBHOOK_RETRY_MAX_INTERVAL_MS: z.coerce.number().int().min(10).default(3_600_000),
  WEBHOOK_RETRY_WINDOW_MS: z.coerce.number().int().min(0).default(86_400_000),
  /** After a secret rotation the old secret keeps signing (two signatures) for this long. */
  WEBHOOK_SECRET_GRACE_MS: z.coerce.number().int().min(0).default(86_400_000),
  /** The webhook delivery log (GET /webhooks/messages) keeps messages this many days. */
  WEBHOOK_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** An endpoint whose every delivery has failed for this long is disabled (5 days). */
  WEBHOOK_AUTO_DISABLE_AFTER_MS: z.coerce.number().int().min(0).default(432_000_000),
  /**
   * Lets webhook URLs be plain http and point at private, loopback or link-local addresses:
   * for the local stack and tests only (see core/security/webhook-destination.ts).
   */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  /** Inbound KYC provider webhooks accepted per connection per minute (0: unlimited); beyond, 429. */
  PROVIDER_WEBHOOK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  /**
   * The API's address as KYC providers reach it: the sandbox provider is told to deliver its
   * webhooks under it (real providers are given the URL in their dashboard).
   */
  PUBLIC_API_URL: z.string().url().default('http://127.0.0.1:3000'),
});

export type Config = z.infer<typeof schema>;

/** The built-in definitions' parameters as the environment gives them (an operator's own override them). */
export type WorkflowDefaults = Pick<
  Config,
  | 'KYC_DEPOSIT_THRESHOLD'
  | 'AML_THRESHOLD'
  | 'AML_THRESHOLDS'
  | 'AFFORDABILITY_THRESHOLD'
  | 'AFFORDABILITY_WINDOW_DAYS'
  | 'SOURCE_OF_FUNDS_THRESHOLD'
  | 'SOURCE_OF_FUNDS_WINDOW_DAYS'
  | 'SOURCE_OF_FUNDS_DEADLINE'
  | 'SOURCE_OF_FUNDS_REMINDER'
  | 'KYC_RESULT_DEADLINE'
>;

/** Those parameters with every variable unset: for an app built without a Config (tests). */
export const unsetWorkflowDefaults = (): WorkflowDefaults =>
  schema
    .pick({
      KYC_DEPOSIT_THRESHOLD: true,
      AML_THRESHOLD: true,
      AML_THRESHOLDS: true,
      AFFORDABILITY_THRESHOLD: true,
      AFFORDABILITY_WINDOW_DAYS: true,
      SOURCE_OF_FUNDS_THRESHOLD: true,
      SOURCE_OF_FUNDS_WINDOW_DAYS: true,
      SOURCE_OF_FUNDS_DEADLINE: true,
      SOURCE_OF_FUNDS_REMINDER: true,
      KYC_RESULT_DEADLINE: true,
    })
    .parse({});

/** Development-only defaults; production must set secrets explicitly. */
const DEV_DEFAULTS: Record<string, string> = {
  PII_MASTER_KEY: 'dev-only-master-key-0123456789abcdef0123456789abcdef',
  // No deploy step on a local stack: its worker's build becomes current as it starts.
  WORKER_SET_CURRENT_VERSION: 'true',
};

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const withDefaults = env.NODE_ENV === 'production' ? env : { ...DEV_DEFAULTS, ...env };
  const result = schema.safeParse(withDefaults);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

let cached: Config | undefined;

/** Reads process.env once per process. Entry points call this; libraries receive Config. */
export function loadConfig(): Config {
  if (!cached) cached = parseConfig(process.env);
  return cached;
}

/**
 * The admin CLI's database: DATABASE_URL, else the one the running local stack wrote to
 * `.local/stack.json`, else the local stack's default.
 */
export function cliDatabaseUrl(stack: { databaseUrl?: string } | undefined): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  if (stack?.databaseUrl) return stack.databaseUrl;
  return 'postgres://postgres:postgres@127.0.0.1:54329/igaming';
}

/**
 * The default rate limit as the admin CLI reports it: RATE_LIMIT_PER_MINUTE of the CLI's own
 * environment (the API's may differ), else the API's default.
 */
export function cliDefaultRateLimit(): number {
  const parsed = schema.shape.RATE_LIMIT_PER_MINUTE.safeParse(process.env.RATE_LIMIT_PER_MINUTE);
  return parsed.success ? parsed.data : schema.shape.RATE_LIMIT_PER_MINUTE.parse(undefined);
}

/** WEBHOOK_SECRET_GRACE_MS for the CLI's rotate-secret (the default when unset or invalid). */
export function cliWebhookSecretGraceMs(): number {
  const parsed = schema.shape.WEBHOOK_SECRET_GRACE_MS.safeParse(process.env.WEBHOOK_SECRET_GRACE_MS);
  return parsed.success ? parsed.data : schema.shape.WEBHOOK_SECRET_GRACE_MS.parse(undefined);
}

/** A boolean setting as the API and the worker parse it; undefined when unset or not a boolean. */
export function parseFlag(raw: string | undefined): boolean | undefined {
  const parsed = bool.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Whether the admin CLI accepts private and plain-http webhook URLs: its own
 * WEBHOOK_ALLOW_PRIVATE_NETWORKS when set, else what the running local stack's API and worker
 * were started with (they would refuse what this refuses, and accept what it accepts), else no.
 */
export function cliAllowPrivateWebhookUrls(
  stack: { webhookAllowPrivateNetworks?: boolean } | undefined,
): boolean {
  return parseFlag(process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS) ?? stack?.webhookAllowPrivateNetworks ?? false;
}

export function cliPiiMasterKey(): string {
  return process.env.PII_MASTER_KEY ?? DEV_DEFAULTS.PII_MASTER_KEY!;
}
