import type { Command } from 'commander';
import type { Db } from '../core/db/pool';
import { listProviderDeliveries } from '../core/db/provider-inbox';
import {
  createConnection,
  listConnections,
  removeConnection,
  rotateConnection,
  type ConnectionPolicy,
  type ProviderConnectionView,
} from '../core/domain/provider-connections';
import { CREDENTIALS } from '../core/kyc-providers/credentials';
import { KYC_PROVIDERS, type KycProviderName } from '../core/security/provider-signatures';
import type { PiiCipher } from '../core/security/pii';

export interface ProviderCliTools {
  withDb: (fn: (db: Db) => Promise<void>) => () => Promise<void>;
  fail: (message: string) => never;
  print: (json: boolean, value: unknown, text: string) => void;
  pii: PiiCipher;
  policy: ConnectionPolicy;
}

interface CredentialFlags {
  appToken?: string;
  secretKey?: string;
  apiToken?: string;
  apiKey?: string;
}

/** The flags given, in the provider's credential shape (the same check as the API's). */
function credentialsFrom(provider: KycProviderName, f: CredentialFlags, t: ProviderCliTools) {
  const given = Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  const parsed = CREDENTIALS[provider].safeParse(given);
  if (!parsed.success) {
    const need = { sumsub: '--app-token and --secret-key', onfido: '--api-token', sandbox: '--api-key' }[
      provider
    ];
    t.fail(`${provider} needs ${need} (and no other credential flags)`);
  }
  return parsed.data as Record<string, string>;
}

const line = (c: ProviderConnectionView) =>
  `${c.id}  ${c.provider}  ${c.baseUrl ?? '(provider default)'}  webhook ${c.webhookPath}${c.rotatedAt ? `  rotated ${c.rotatedAt.toISOString()}` : ''}`;

const credentialOptions = (cmd: Command) =>
  cmd
    .option('--app-token <token>', 'sumsub: App Token')
    .option('--secret-key <key>', 'sumsub: Secret Key of the App Token')
    .option('--api-token <token>', 'onfido: API token')
    .option('--api-key <key>', 'sandbox: the key the sandbox provider checks');

/**
 * `providers connect|list|rotate|remove|deliveries`: an operator's KYC provider connection and
 * its inbox, as the API's /providers routes manage them. The webhook secret is printed once
 * (connect, rotate); credentials never.
 */
export function registerProviderCommands(program: Command, t: ProviderCliTools): void {
  const providers = program
    .command('providers')
    .description("An operator's KYC provider connection and webhook inbox");

  credentialOptions(
    providers
      .command('connect <operatorId>')
      .description('Connect the operator to sumsub, onfido or sandbox; prints the webhook secret once')
      .requiredOption('--provider <name>', KYC_PROVIDERS.join(' | ')),
  )
    .option(
      '--webhook-secret <secret>',
      "the provider's webhook signing secret (required for onfido; generated otherwise)",
    )
    .option('--base-url <url>', "the provider's API (default: its public one; the local sandbox for sandbox)")
    .option('--level-name <name>', 'sumsub: verification level', 'basic-kyc-level')
    .option('--json', 'print JSON')
    .action(
      (
        operatorId: string,
        o: CredentialFlags & {
          provider: string;
          webhookSecret?: string;
          baseUrl?: string;
          levelName: string;
          json?: boolean;
        },
      ) =>
        t.withDb(async (db) => {
          if (!(KYC_PROVIDERS as readonly string[]).includes(o.provider))
            t.fail(`--provider must be one of ${KYC_PROVIDERS.join(', ')}`);
          const provider = o.provider as KycProviderName;
          const credentials = credentialsFrom(
            provider,
            { appToken: o.appToken, secretKey: o.secretKey, apiToken: o.apiToken, apiKey: o.apiKey },
            t,
          );
          const { connection, webhookSecret } = await createConnection({ pool: db, pii: t.pii }, t.policy, {
            operatorId,
            provider,
            credentials,
            settings:
              provider === 'sumsub'
                ? { levelName: o.levelName }
                : provider === 'onfido'
                  ? { reportNames: ['document', 'facial_similarity_photo'] }
                  : {},
            webhookSecret: o.webhookSecret,
            baseUrl: o.baseUrl,
          });
          t.print(
            Boolean(o.json),
            { ...connection, webhookSecret },
            `${line(connection)}\nWebhook secret (shown once): ${webhookSecret}`,
          );
        })(),
    );

  providers
    .command('list <operatorId>')
    .description("The operator's connection (no secrets)")
    .option('--json', 'print JSON')
    .action((operatorId: string, o: { json?: boolean }) =>
      t.withDb(async (db) => {
        const list = await listConnections({ pool: db, pii: t.pii }, operatorId);
        t.print(
          Boolean(o.json),
          list,
          list.length ? list.map(line).join('\n') : `No KYC provider connection for ${operatorId}`,
        );
      })(),
    );

  credentialOptions(
    providers
      .command('rotate <operatorId> <connectionId>')
      .description('New credentials and/or a new webhook secret (the old one verifies for the grace period)'),
  )
    .option('--webhook-secret <secret>', 'the new webhook secret')
    .option('--generate-webhook-secret', 'generate one (not for onfido); printed once')
    .option('--json', 'print JSON')
    .action(
      (
        operatorId: string,
        connectionId: string,
        o: CredentialFlags & { webhookSecret?: string; generateWebhookSecret?: boolean; json?: boolean },
      ) =>
        t.withDb(async (db) => {
          const flags = {
            appToken: o.appToken,
            secretKey: o.secretKey,
            apiToken: o.apiToken,
            apiKey: o.apiKey,
          };
          const anyCredential = Object.values(flags).some((v) => v !== undefined);
          if (!anyCredential && !o.webhookSecret && !o.generateWebhookSecret)
            t.fail('Give credential flags, --webhook-secret or --generate-webhook-secret');
          const { connection, webhookSecret } = await rotateConnection({ pool: db, pii: t.pii }, t.policy, {
            operatorId,
            id: connectionId,
            credentials: anyCredential
              ? (Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as Record<
                  string,
                  string
                >)
              : undefined,
            webhookSecret: o.webhookSecret,
            generateWebhookSecret: o.generateWebhookSecret,
            now: new Date(),
          });
          t.print(
            Boolean(o.json),
            { ...connection, ...(webhookSecret ? { webhookSecret } : {}) },
            `${line(connection)}${webhookSecret ? `\nWebhook secret (shown once): ${webhookSecret}` : ''}`,
          );
        })(),
    );

  providers
    .command('remove <operatorId> <connectionId>')
    .description('Delete the connection (its webhooks are refused from then on; the inbox stays)')
    .action((operatorId: string, connectionId: string) =>
      t.withDb(async (db) => {
        await removeConnection({ pool: db, pii: t.pii }, operatorId, connectionId);
        console.log(`Connection ${connectionId} removed.`);
      })(),
    );

  providers
    .command('deliveries <operatorId>')
    .description(
      'The newest webhooks the provider sent, each with what became of it: applied, superseded (by a result the provider dated later), ignored (with the reason) or pending',
    )
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Columns: received at, delivery id, provider, event, check, result, outcome, reason.
Reasons: not_a_result, no_result, unknown_check, entity_erased, connection_removed,
check_withdrawn (ignored);
older_than_standing (superseded; --json names the delivery that stood); result_to_fetch
(pending: an Onfido check.completed whose result is being read back from Onfido).`,
    )
    .action((operatorId: string, o: { limit: string; json?: boolean }) =>
      t.withDb(async (db) => {
        const limit = Number(o.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) t.fail('--limit must be 1 to 1000');
        const rows = await listProviderDeliveries(db, { operatorId, limit });
        t.print(
          Boolean(o.json),
          rows.map(({ cursorTs: _c, dedupKey: _d, outcome: _o, ignoredReason: _i, settlement, ...r }) => ({
            ...r,
            outcome: settlement.outcome,
            outcomeReason: settlement.reason,
            outcomeAt: settlement.at,
            appliedBy: settlement.appliedBy,
            supersededBy: settlement.supersededBy,
          })),
          rows.length
            ? rows
                .map((r) =>
                  [
                    r.receivedAt.toISOString(),
                    r.id,
                    r.provider,
                    r.eventType,
                    r.checkId ?? '-',
                    r.result ?? '-',
                    r.settlement.outcome,
                    r.settlement.reason ?? '',
                  ]
                    .join('  ')
                    .trimEnd(),
                )
                .join('\n')
            : `No provider deliveries for ${operatorId}`,
        );
      })(),
    );
}
