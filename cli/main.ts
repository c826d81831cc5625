import { Command } from 'commander';
import {
  activateOperator,
  createKey,
  createOperator,
  describeOperator,
  listApiKeys,
  listOperators,
  parseRateLimit,
  rateLimitView,
  revokeKey,
  setRateLimit,
  suspendOperator,
} from '../core/admin/operators';
import {
  cliAllowPrivateWebhookUrls,
  cliDatabaseUrl,
  cliDefaultRateLimit,
  cliPiiMasterKey,
  cliWebhookSecretGraceMs,
} from '../core/config';
import { PiiCipher } from '../core/security/pii';
import { registerProviderCommands } from './provider-connections';
import { getOperator } from '../core/db/operators';
import { createPool, type Db } from '../core/db/pool';
import { upsertWebhookEndpoint } from '../core/db/webhooks';
import { webhookUrlProblem } from '../core/security/webhook-destination';
import { registerFanoutCommands } from './fanout';
import { readStackFile } from '../scripts/lib/stack-file';
import { describeRateLimit, formatOperator } from './operator-view';
import { addWebhookEndpointCommands } from './webhook-endpoints';
import { registerWorkflowSettingsCommand } from './workflow-settings';

// The local stack `npm start` runs (undefined when none: a file a killed stack left is ignored).
const stack = readStackFile();

function withDb(fn: (db: Db) => Promise<void>) {
  return async () => {
    const db = createPool(cliDatabaseUrl(stack), 2);
    try {
      await fn(db);
    } finally {
      await db.end();
    }
  };
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const print = (json: boolean, value: unknown, text: string) =>
  console.log(json ? JSON.stringify(value) : text);

const program = new Command('cli')
  .description('Admin CLI: operators, API keys, webhooks and KYC provider connections')
  .showHelpAfterError();

const operators = program.command('operators').description('Manage operators');
operators
  .command('create')
  .requiredOption('--name <name>', 'operator name')
  .option('--test', 'a test-mode operator (oh_test_ keys), isolated from live data')
  .option('--no-template', 'do not set the iGaming template (data calls answer TEMPLATE_NOT_CONFIGURED)')
  .option('--json', 'print one JSON object')
  .action((opts: { name: string; test?: boolean; template: boolean; json?: boolean }) =>
    withDb(async (db) => {
      const op = await createOperator(db, {
        name: opts.name,
        mode: opts.test ? 'test' : 'live',
        withTemplate: opts.template,
      });
      print(
        Boolean(opts.json),
        op,
        `Operator ${op.operatorId} (${op.name}) created.\nAPI key (shown once, store it now):\n  ${op.apiKey}`,
      );
    })(),
  );
operators
  .command('list')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) =>
    withDb(async (db) => {
      const rows = await listOperators(db);
      const view = rows.map((r) => ({
        operatorId: r.id,
        name: r.name,
        mode: r.mode,
        status: r.status,
        templateId: r.template_id,
      }));
      print(
        Boolean(opts.json),
        view,
        view
          .map((r) => `${r.operatorId}\t${r.status}\t${r.mode}\t${r.templateId ?? '-'}\t${r.name}`)
          .join('\n') || 'No operators.',
      );
    })(),
  );
for (const [verb, fn] of [
  ['suspend', suspendOperator],
  ['activate', activateOperator],
] as const) {
  operators.command(`${verb} <operatorId>`).action((id: string) =>
    withDb(async (db) => {
      if (!(await fn(db, id))) fail(`No operator ${id}`);
      console.log(`Operator ${id}: ${verb === 'suspend' ? 'suspended (its keys now answer 401)' : 'active'}`);
    })(),
  );
}

operators
  .command('show <operatorId>')
  .description('Settings, rate limit, keys and webhook endpoints of an operator (never their secrets)')
  .option('--json', 'print one JSON object')
  .action((operatorId: string, opts: { json?: boolean }) =>
    withDb(async (db) => {
      const details = await describeOperator(db, operatorId, cliDefaultRateLimit());
      if (!details) fail(`No operator ${operatorId}`);
      print(Boolean(opts.json), details, formatOperator(details));
    })(),
  );
operators
  .command('set-rate-limit <operatorId> <limit>')
  .description(
    'Requests per minute for one operator: a number, "default" (RATE_LIMIT_PER_MINUTE) or "unlimited"',
  )
  .option('--json', 'print one JSON object')
  .action((operatorId: string, limit: string, opts: { json?: boolean }) =>
    withDb(async (db) => {
      const parsed = parseRateLimit(limit);
      if ('problem' in parsed) fail(parsed.problem);
      if (!(await setRateLimit(db, operatorId, parsed.perMinute))) fail(`No operator ${operatorId}`);
      const view = rateLimitView(parsed.perMinute, cliDefaultRateLimit());
      print(
        Boolean(opts.json),
        { operatorId, rateLimit: view },
        // The API caches each key's operator (with its limit) for 5 s: see api/middleware/auth.ts.
        `Rate limit of ${operatorId}: ${describeRateLimit(view)}; API processes apply it within 5 s.`,
      );
    })(),
  );

const keys = program.command('keys').description('Manage API keys');
keys
  .command('create <operatorId>')
  .option('--json', 'print one JSON object')
  .action((operatorId: string, opts: { json?: boolean }) =>
    withDb(async (db) => {
      const op = await getOperator(db, operatorId);
      if (!op) fail(`No operator ${operatorId}`);
      const key = await createKey(db, operatorId, op.mode);
      print(Boolean(opts.json), key, `Key ${key.keyId} created (shown once):\n  ${key.apiKey}`);
    })(),
  );
keys
  .command('list <operatorId>')
  .option('--json', 'print JSON')
  .action((operatorId: string, opts: { json?: boolean }) =>
    withDb(async (db) => {
      const rows = await listApiKeys(db, operatorId);
      const view = rows.map((k) => ({
        keyId: k.id,
        prefix: k.display_prefix,
        createdAt: k.created_at.toISOString(),
        revokedAt: k.revoked_at?.toISOString() ?? null,
      }));
      print(
        Boolean(opts.json),
        view,
        view.map((k) => `${k.keyId}\t${k.prefix}…\t${k.revokedAt ? 'revoked' : 'active'}`).join('\n') ||
          'No keys.',
      );
    })(),
  );
keys.command('revoke <keyId>').action((keyId: string) =>
  withDb(async (db) => {
    const result = await revokeKey(db, keyId);
    if (result === 'revoked') return console.log(`Key ${keyId} revoked.`);
    if (result === 'last_active_key')
      fail(`Key ${keyId} is its operator's last active key; create another key first.`);
    fail(result === 'not_found' ? `No key ${keyId}` : `Key ${keyId} is already revoked.`);
  })(),
);

const webhooks = program.command('webhooks').description("Manage an operator's webhook endpoints");
const allowPrivateWebhookUrls = cliAllowPrivateWebhookUrls(stack);
addWebhookEndpointCommands(webhooks, {
  withDb,
  fail,
  print,
  secretGraceMs: cliWebhookSecretGraceMs(),
  allowPrivateWebhookUrls,
});

webhooks
  .command('set <operatorId>')
  .description('Set the shorthand endpoint (PUT /webhooks): created, or replaced in place')
  .requiredOption('--url <url>', 'HTTPS endpoint that receives signed alerts')
  .option('--secret <secret>', 'signing secret (whsec_…); generated when omitted')
  .option(
    '--events <list>',
    'comma-separated internal events to forward besides alerts (e.g. entity_event.*)',
    '',
  )
  .option('--json', 'print JSON')
  .action((operatorId: string, opts: { url: string; secret?: string; events: string; json?: boolean }) =>
    withDb(async (db) => {
      const problem = webhookUrlProblem(opts.url, allowPrivateWebhookUrls);
      if (problem) {
        fail(
          `--url ${problem} (the worker refuses it at delivery too; for a local receiver, run the stack with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true, its default)`,
        );
      }
      const endpoint = await upsertWebhookEndpoint(db, {
        operatorId,
        url: opts.url,
        secret: opts.secret,
        eventFilter: opts.events
          ? opts.events
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : [],
      });
      print(
        Boolean(opts.json),
        endpoint,
        `Webhook for ${operatorId}: ${endpoint.url}\nSigning secret: ${endpoint.secret}`,
      );
    })(),
  );

registerWorkflowSettingsCommand(operators, { withDb, fail });
// Sealed with the API's key: the CLI must run with the API's PII_MASTER_KEY (the local stack's
// development default when unset), or the API could not open what it stores.
registerProviderCommands(program, {
  withDb,
  fail,
  print,
  pii: new PiiCipher(cliPiiMasterKey()),
  policy: { allowPrivateNetworks: allowPrivateWebhookUrls, secretGraceMs: cliWebhookSecretGraceMs() },
});
registerFanoutCommands(program, {
  withDb,
  fail,
  temporalTarget: () => ({
    address: process.env.TEMPORAL_ADDRESS ?? stack?.temporalAddress ?? 'localhost:7233',
    namespace: process.env.TEMPORAL_NAMESPACE ?? stack?.temporalNamespace ?? 'default',
    taskQueue: process.env.TEMPORAL_TASK_QUEUE ?? stack?.temporalTaskQueue ?? 'entity-events',
  }),
});

program
  .parseAsync(process.argv)
  .catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
