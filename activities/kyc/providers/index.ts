import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Config } from '../../../core/config';
import { SumsubSettings, OnfidoSettings } from '../../../core/kyc-providers/credentials';
import {
  resolveKycConnection,
  type OpenedProviderConnection,
} from '../../../core/domain/provider-connections';
import type { PiiCipher } from '../../../core/security/pii';
import {
  assertAddressesAllowed,
  DestinationRefusedError,
  type Resolver,
} from '../../../core/security/webhook-destination';
import { requestPinned } from '../../webhooks/pinned-post';
import { requestJson } from '../../http';
import { createKycClient, type KycCheck } from '../client';
import { onfidoClient, ONFIDO_DEFAULT_BASE_URL } from './onfido';
import { sandboxClient } from './sandbox';
import { sumsubClient, SUMSUB_DEFAULT_BASE_URL } from './sumsub';
import type { KycProviderClient, ProviderHttp } from './types';

export interface ProviderCheckDeps {
  pool: Pool;
  pii: PiiCipher;
  config: Pick<
    Config,
    | 'KYC_PROVIDER_URL'
    | 'KYC_PROVIDER_API_KEY'
    | 'HTTP_TIMEOUT_MS'
    | 'WEBHOOK_ALLOW_PRIVATE_NETWORKS'
    | 'PUBLIC_API_URL'
  >;
  fetch: typeof fetch;
  now: () => Date;
  resolveHost: Resolver;
}

export type ProviderCheckOutcome =
  /** The operator's provider accepted the check; the result comes by webhook. */
  | {
      outcome: 'pending';
      provider: OpenedProviderConnection['provider'];
      connectionId: string;
      checkId: string;
    }
  /** A test-mode operator without a connection: the local sandbox answered at once, as today. */
  | { outcome: 'completed'; provider: 'sandbox'; connectionId: null; check: KycCheck }
  /** A live operator without a connection: no check; the caller raises "KYC not configured". */
  | { outcome: 'not_configured'; alert: 'kyc_not_configured'; message: string };

export const KYC_DESTINATION_REFUSED = 'KycDestinationRefused';

/** A provider's JSON answer is small; more than this is not read. */
const PROVIDER_ANSWER_MAX_BYTES = 1024 * 1024;

/**
 * Calls to a provider base URL the operator chose go through the webhook destination rule
 * (https, public addresses only) and are pinned like webhook deliveries (the webhook sender's
 * own requestPinned): the host is resolved once, every address checked, and the connection
 * made to a checked address, so a name that re-resolves between check and connect (DNS
 * rebinding) cannot reach a private one. The providers' own defaults and the configured local
 * sandbox are ours and go through the plain fetch.
 */
function providerHttp(deps: ProviderCheckDeps, operatorChosen: boolean): ProviderHttp {
  if (!operatorChosen)
    return (method, url, o) =>
      requestJson(deps.fetch, method, url, { ...o, timeoutMs: deps.config.HTTP_TIMEOUT_MS });
  return async (method, url, o) => {
    const answer = await requestPinned(method, url, {
      body: o.body,
      headers: { accept: 'application/json', ...o.headers },
      timeoutMs: deps.config.HTTP_TIMEOUT_MS,
      maxBytes: PROVIDER_ANSWER_MAX_BYTES,
      resolve: deps.resolveHost,
      checkAddresses: (u, addresses) =>
        assertAddressesAllowed(u, addresses, deps.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS),
    }).catch((err: unknown) => {
      if (!(err instanceof DestinationRefusedError)) throw err;
      // Retrying cannot change the answer until the operator changes the URL.
      throw ApplicationFailure.create({
        type: KYC_DESTINATION_REFUSED,
        message: `KYC provider URL refused: ${err.message}`,
        nonRetryable: true,
      });
    });
    return { status: answer.status, headers: answer.headers, text: answer.body.toString('utf8') };
  };
}

export function clientForConnection(deps: ProviderCheckDeps, c: OpenedProviderConnection): KycProviderClient {
  const http = providerHttp(deps, c.baseUrl !== null);
  switch (c.provider) {
    case 'sumsub':
      return sumsubClient({
        baseUrl: c.baseUrl ?? SUMSUB_DEFAULT_BASE_URL,
        appToken: c.credentials.appToken ?? '',
        secretKey: c.credentials.secretKey ?? '',
        levelName: SumsubSettings.parse(c.settings).levelName,
        http,
        now: deps.now,
      });
    case 'onfido':
      return onfidoClient({
        baseUrl: c.baseUrl ?? ONFIDO_DEFAULT_BASE_URL,
        apiToken: c.credentials.apiToken ?? '',
        reportNames: OnfidoSettings.parse(c.settings).reportNames,
        http,
        now: deps.now,
      });
    case 'sandbox':
      return sandboxClient({
        baseUrl: c.baseUrl ?? deps.config.KYC_PROVIDER_URL,
        apiKey: c.credentials.apiKey ?? '',
        callback: {
          url: new URL(c.webhookPath, deps.config.PUBLIC_API_URL).toString(),
          secret: c.webhookSecrets[0]!,
        },
        http,
        now: deps.now,
      });
  }
}

/**
 * Creates the check at the operator's provider (resolveKycConnection decides which), keyed by
 * `idempotencyKey` (the workflow ID), and returns at once. The definition that waits for the
 * result by webhook is built on this.
 */
export async function createProviderCheck(
  deps: ProviderCheckDeps,
  input: { operatorId: string; externalId: string; reference: string; amount?: number; currency?: string },
  idempotencyKey: string,
): Promise<ProviderCheckOutcome> {
  const resolved = await resolveKycConnection(deps.pool, deps.pii, input.operatorId, deps.now());
  if (resolved.kind === 'not_configured')
    return { outcome: 'not_configured', alert: resolved.alert, message: resolved.message };
  if (resolved.kind === 'local_sandbox') {
    const check = await createKycClient({
      baseUrl: deps.config.KYC_PROVIDER_URL,
      apiKey: deps.config.KYC_PROVIDER_API_KEY,
      timeoutMs: deps.config.HTTP_TIMEOUT_MS,
      fetch: deps.fetch,
      now: deps.now,
    }).createCheck(
      {
        applicantId: input.externalId,
        operatorReference: input.operatorId,
        reference: input.reference,
        amount: input.amount,
        currency: input.currency,
      },
      idempotencyKey,
    );
    return { outcome: 'completed', provider: 'sandbox', connectionId: null, check };
  }
  const c = resolved.connection;
  const pending = await clientForConnection(deps, c).createCheck(
    { applicantId: input.externalId, reference: input.reference },
    idempotencyKey,
  );
  return { outcome: 'pending', provider: c.provider, connectionId: c.id, checkId: pending.checkId };
}
