import type { OperatorDetails, RateLimitView, WebhookEndpointView } from '../core/admin/operators';

export function describeRateLimit(r: RateLimitView): string {
  const amount = r.effectivePerMinute === null ? 'unlimited' : `${r.effectivePerMinute} requests per minute`;
  return r.source === 'default'
    ? `${amount} (the default, RATE_LIMIT_PER_MINUTE)`
    : `${amount} (set for this operator)`;
}

const retentionLine = (d: OperatorDetails): string => {
  const rule = (name: string, r: { hot_days: number; archive_days: number } | undefined) =>
    r ? `${name} hot ${r.hot_days} d, archive ${r.archive_days} d` : undefined;
  const parts = [
    d.dataRetentionDays === null ? undefined : `data ${d.dataRetentionDays} d`,
    rule('events', d.retentionPolicy?.entity_events),
    rule('states', d.retentionPolicy?.entity_states),
  ].filter(Boolean);
  return parts.join('; ') || 'not set (kept indefinitely)';
};

/** One line per endpoint: what it receives and whether it does; secrets are never read. */
function endpointLine(e: WebhookEndpointView): string {
  const state = e.enabled
    ? 'enabled'
    : e.disabledReason === 'failing'
      ? `disabled automatically (failing since ${e.failingSince ?? '?'}; messages kept as failed)`
      : 'disabled';
  return [
    `  ${e.id}  ${state}  ${e.url}`,
    `alerts${e.eventFilter.length ? ` + ${e.eventFilter.join(', ')}` : ' only'}`,
    e.rateLimitPerSecond === null ? undefined : `at most ${e.rateLimitPerSecond}/s`,
    e.shorthand ? '(PUT /webhooks)' : undefined,
    e.description || undefined,
  ]
    .filter(Boolean)
    .join('  ');
}

/** `operators show` as text: one labelled line per setting, one line per key. */
export function formatOperator(d: OperatorDetails): string {
  const keys = d.keys.length
    ? d.keys.map(
        (k) =>
          `  ${k.keyId}  ${k.prefix}…  ${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}  created ${k.createdAt}`,
      )
    : ['  none'];
  const webhooks = d.webhookEndpoints.length ? d.webhookEndpoints.map(endpointLine) : ['  none'];
  return [
    `Operator ${d.operatorId} (${d.name})`,
    `status:      ${d.status}`,
    `mode:        ${d.mode}`,
    `created:     ${d.createdAt}`,
    `template:    ${d.templateId ?? 'none (data calls answer TEMPLATE_NOT_CONFIGURED)'}`,
    `retention:   ${retentionLine(d)}`,
    `rate limit:  ${describeRateLimit(d.rateLimit)}`,
    `keys:`,
    ...keys,
    `webhook endpoints (secrets not shown):`,
    ...webhooks,
  ].join('\n');
}
