import type { Command } from 'commander';
import type { Db } from '../core/db/pool';
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookSecret,
  updateWebhookEndpoint,
  type WebhookEndpoint,
} from '../core/db/webhooks';
import { webhookUrlProblem } from '../core/security/webhook-destination';

export interface CliTools {
  withDb: (fn: (db: Db) => Promise<void>) => () => Promise<void>;
  fail: (message: string) => never;
  print: (json: boolean, value: unknown, text: string) => void;
  /** WEBHOOK_SECRET_GRACE_MS as the API would use it. */
  secretGraceMs: number;
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: the CLI's own, else the running local stack's. */
  allowPrivateWebhookUrls: boolean;
}

const patterns = (list: string) =>
  list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** One line per endpoint, secret never shown. */
const line = (e: WebhookEndpoint) =>
  `${e.id}  ${e.enabled ? 'enabled ' : 'disabled'}  ${e.url}  [${e.eventFilter.join(', ')}]${e.shorthand ? '  (PUT /webhooks)' : ''}${e.description ? `  ${e.description}` : ''}`;

const withoutSecrets = ({ secret: _s, previousSecret: _p, ...rest }: WebhookEndpoint) => rest;

/** `webhooks list|add|enable|disable|remove|rotate-secret`: the API's endpoint routes, for admins. */
export function addWebhookEndpointCommands(webhooks: Command, t: CliTools): void {
  const missing = (operatorId: string, id: string) => t.fail(`No webhook endpoint ${id} for ${operatorId}`);

  webhooks
    .command('list <operatorId>')
    .description("List an operator's webhook endpoints (no secrets)")
    .option('--json', 'print JSON')
    .action((operatorId: string, opts: { json?: boolean }) =>
      t.withDb(async (db) => {
        const endpoints = await listWebhookEndpoints(db, operatorId);
        t.print(
          Boolean(opts.json),
          endpoints.map(withoutSecrets),
          endpoints.length ? endpoints.map(line).join('\n') : `No webhook endpoints for ${operatorId}`,
        );
      })(),
    );

  webhooks
    .command('add <operatorId>')
    .description('Add a webhook endpoint; prints its signing secret once')
    .requiredOption('--url <url>', 'HTTPS endpoint that receives signed webhooks')
    .option('--events <list>', 'comma-separated internal events to forward besides alerts', '')
    .option('--description <text>', 'what the endpoint is for', '')
    .option('--disabled', 'create it disabled')
    .option('--json', 'print JSON')
    .action(
      (
        operatorId: string,
        opts: { url: string; events: string; description: string; disabled?: boolean; json?: boolean },
      ) =>
        t.withDb(async (db) => {
          const problem = webhookUrlProblem(opts.url, t.allowPrivateWebhookUrls);
          if (problem) t.fail(`--url ${problem}`);
          const e = await createWebhookEndpoint(db, {
            operatorId,
            url: opts.url,
            description: opts.description,
            eventFilter: patterns(opts.events),
            enabled: !opts.disabled,
          });
          t.print(Boolean(opts.json), e, `${line(e)}\nSigning secret: ${e.secret}`);
        })(),
    );

  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    webhooks
      .command(`${name} <operatorId> <endpointId>`)
      .description(`${name === 'enable' ? 'Enable' : 'Disable'} a webhook endpoint`)
      .action((operatorId: string, id: string) =>
        t.withDb(async (db) => {
          const e = await updateWebhookEndpoint(db, operatorId, id, { enabled });
          if (!e) missing(operatorId, id);
          else console.log(line(e));
        })(),
      );
  }

  webhooks
    .command('remove <operatorId> <endpointId>')
    .description('Delete a webhook endpoint')
    .action((operatorId: string, id: string) =>
      t.withDb(async (db) => {
        if (!(await deleteWebhookEndpoint(db, operatorId, id))) missing(operatorId, id);
        console.log(`Deleted ${id}`);
      })(),
    );

  webhooks
    .command('rotate-secret <operatorId> <endpointId>')
    .description('New signing secret; the old one keeps signing for the grace period')
    .option('--json', 'print JSON')
    .action((operatorId: string, id: string, opts: { json?: boolean }) =>
      t.withDb(async (db) => {
        const e = await rotateWebhookSecret(db, operatorId, id, t.secretGraceMs);
        if (e === undefined) missing(operatorId, id);
        if (e === 'disabled') t.fail(`Webhook endpoint ${id} is disabled; enable it first`);
        else if (e)
          t.print(
            Boolean(opts.json),
            { id: e.id, secret: e.secret, previousSecretExpiresAt: e.previousSecretExpiresAt },
            `New signing secret: ${e.secret}\nThe old one also signs until ${e.previousSecretExpiresAt?.toISOString()}`,
          );
      })(),
    );
}
