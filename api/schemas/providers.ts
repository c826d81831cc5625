import { z } from 'zod';
import { iso } from './common';
import {
  OnfidoCredentials,
  OnfidoSettings,
  SandboxCredentials,
  SandboxSettings,
  SumsubCredentials,
  SumsubSettings,
} from '../../core/kyc-providers/credentials';
import type { ListedDelivery } from '../../core/db/provider-inbox';
import type { ProviderConnectionView } from '../../core/domain/provider-connections';

const isoOrNull = (d: Date | null) => (d ? iso(d) : null);

export const ProviderName = z.enum(['sumsub', 'onfido', 'sandbox']).meta({ example: 'sumsub' });

const BaseUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .meta({
    description:
      "The provider's API; omitted: its public default (Sumsub https://api.sumsub.com, Onfido https://api.eu.onfido.com, sandbox: the local sandbox). Same destination rules as webhook URLs: https, public addresses only",
    example: 'https://api.sumsub.com',
  });

const WebhookSecret = z.string().min(16).max(500).meta({
  description:
    'The secret the provider signs its webhooks with: the Secret key of your Sumsub webhook, or the token Onfido returned for your webhook (required for onfido). Generated when omitted otherwise; shown in full only in this answer',
});

export const CreateConnectionBody = z
  .discriminatedUnion('provider', [
    z
      .object({
        provider: z.literal('sumsub'),
        credentials: SumsubCredentials.meta({ description: 'Your App Token and its Secret Key' }),
        settings: SumsubSettings.default({ levelName: 'basic-kyc-level' }),
        webhookSecret: WebhookSecret.optional(),
        baseUrl: BaseUrl.optional(),
      })
      .strict(),
    z
      .object({
        provider: z.literal('onfido'),
        credentials: OnfidoCredentials.meta({ description: 'Your API token' }),
        settings: OnfidoSettings.default({ reportNames: ['document', 'facial_similarity_photo'] }),
        webhookSecret: WebhookSecret,
        baseUrl: BaseUrl.optional(),
      })
      .strict(),
    z
      .object({
        provider: z.literal('sandbox'),
        credentials: SandboxCredentials.default({ apiKey: 'sandbox' }),
        settings: SandboxSettings.default({}),
        webhookSecret: WebhookSecret.optional(),
        baseUrl: BaseUrl.optional(),
      })
      .strict(),
  ])
  .meta({ id: 'CreateProviderConnectionRequest' });

export const RotateConnectionBody = z
  .object({
    credentials: z.record(z.string(), z.string()).optional().meta({
      description: "New credentials, in the connection's provider's shape (replaced at once)",
    }),
    webhookSecret: WebhookSecret.optional(),
    generateWebhookSecret: z.boolean().optional().meta({
      description: 'Generate a new webhook secret (not for onfido), answered in full once',
    }),
  })
  .strict()
  .refine(
    (b) => b.credentials !== undefined || b.webhookSecret !== undefined || b.generateWebhookSecret === true,
    'name credentials, webhookSecret or generateWebhookSecret',
  )
  .refine(
    (b) => !(b.webhookSecret && b.generateWebhookSecret),
    'give webhookSecret or generateWebhookSecret, not both',
  )
  .meta({ id: 'RotateProviderConnectionRequest' });

export const ConnectionParams = z.object({
  id: z
    .string()
    .regex(/^pcn_[0-9a-f]{16}$/, 'must be a provider connection id')
    .meta({ example: 'pcn_0123456789abcdef' }),
});

export const Connection = z
  .object({
    id: z.string(),
    provider: ProviderName,
    baseUrl: z.string().nullable(),
    settings: z.record(z.string(), z.unknown()),
    webhookPath: z.string().meta({
      description: "Give the provider this path on the API's public address as the webhook URL",
      example: '/operator-data-api/providers/sumsub/webhooks/pcn_0123456789abcdef',
    }),
    createdAt: z.string(),
    rotatedAt: z.string().nullable(),
    previousWebhookSecretExpiresAt: z.string().nullable().meta({
      description: 'Until then the webhook secret before the last rotation still verifies deliveries',
    }),
  })
  .meta({ id: 'ProviderConnection' });

export const ConnectionWithSecret = Connection.extend({
  webhookSecret: z.string().meta({ description: 'In full, in this answer only' }),
}).meta({ id: 'ProviderConnectionWithSecret' });

export const connectionBody = (c: ProviderConnectionView) => ({
  id: c.id,
  provider: c.provider,
  baseUrl: c.baseUrl,
  settings: c.settings,
  webhookPath: c.webhookPath,
  createdAt: iso(c.createdAt),
  rotatedAt: isoOrNull(c.rotatedAt),
  previousWebhookSecretExpiresAt: isoOrNull(c.previousWebhookSecretExpiresAt),
});

export const Delivery = z
  .object({
    id: z.string().meta({ example: 'pwd_0123456789abcdef' }),
    connectionId: z.string(),
    provider: ProviderName,
    eventType: z.string().meta({ description: "The provider's event (Sumsub `type`, Onfido `action`)" }),
    providerEventId: z.string().nullable(),
    checkId: z.string().nullable().meta({ description: "The provider's check (Sumsub: the applicant id)" }),
    applicantId: z.string().nullable().meta({ description: 'The applicant as the provider names it' }),
    externalId: z.string().nullable().meta({
      description:
        'Your player the result was mapped to (through the check kyc-on-deposit created); null if none',
    }),
    result: z.enum(['approved', 'rejected', 'review']).nullable().meta({
      description:
        'Our reading of the result (for an Onfido check.completed: null until it is read back from Onfido)',
    }),
    resultDetails: z
      .object({
        reviewRejectType: z.string().optional().meta({
          description: 'Sumsub: FINAL (no resubmission) or RETRY (the applicant may resubmit)',
        }),
        rejectLabels: z
          .array(z.string())
          .optional()
          .meta({ description: 'Sumsub: why it is RED', example: ['FORGERY'] }),
      })
      .nullable()
      .meta({ description: "The provider's reasons with its result; null when it gave none" }),
    providerTimestamp: z.string().nullable().meta({ description: "The provider's own time for the event" }),
    receivedAt: z.string(),
    outcome: z.enum(['pending', 'applied', 'superseded', 'ignored']).meta({
      description:
        "What became of it. `applied`: written to the player's kyc_status. `superseded`: not written, a result the provider dated later already stood (`supersededBy`). `ignored`: not a result to apply (`outcomeReason`). `pending`: not applied yet (the worker has not run it, or an Onfido result is still being read back: `outcomeReason` `result_to_fetch`)",
    }),
    outcomeReason: z.string().nullable().meta({
      description:
        'ignored: `not_a_result` (an event that carries no KYC result), `no_result` (a review without an answer we can read), `unknown_check` (a check this operator never created), `entity_erased` (the player was erased before it was applied), `connection_removed` (the connection was deleted before its result could be read), `check_withdrawn` (Onfido: the check was withdrawn, it has no result); superseded: `older_than_standing`; pending: `result_to_fetch`; else null',
      example: 'unknown_check',
    }),
    outcomeAt: z.string().nullable().meta({ description: 'When it was applied, superseded or ignored' }),
    appliedBy: z.string().nullable().meta({ description: 'The workflow that wrote it to kyc_status' }),
    supersededBy: z.string().nullable().meta({ description: 'The delivery whose result stood instead' }),
  })
  .meta({ id: 'ProviderWebhookDelivery' });

export const deliveryBody = (d: ListedDelivery) => ({
  id: d.id,
  connectionId: d.connectionId,
  provider: d.provider,
  eventType: d.eventType,
  providerEventId: d.providerEventId,
  checkId: d.checkId,
  applicantId: d.applicantId,
  externalId: d.externalId,
  result: d.result,
  resultDetails: d.details ?? null,
  providerTimestamp: isoOrNull(d.providerTimestamp),
  receivedAt: iso(d.receivedAt),
  outcome: d.settlement.outcome,
  outcomeReason: d.settlement.reason,
  outcomeAt: isoOrNull(d.settlement.at),
  appliedBy: d.settlement.appliedBy,
  supersededBy: d.settlement.supersededBy,
});

export const WebhookParams = z.object({
  provider: ProviderName,
  connectionId: z.string().max(64).meta({ example: 'pcn_0123456789abcdef' }),
});

export const WebhookAnswer = z.object({
  success: z.literal(true),
  data: z.object({
    deliveryId: z.string(),
    duplicate: z.boolean().meta({ description: 'A redelivery of one already recorded: nothing changed' }),
    outcome: z.enum(['accepted', 'result_to_fetch', 'ignored']).meta({
      description:
        'What was recorded: `accepted` (a result, to be applied), `result_to_fetch` (a completion whose result is read back from the provider), `ignored` (not a result to apply). What became of it later shows in GET /providers/deliveries',
    }),
  }),
});
