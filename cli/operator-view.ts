import type { OperatorDetails, RateLimitView } from '../core/admin/operators';

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

/** `operators show` as text: one labelled line per setting, one line per key. */
export function formatOperator(d: OperatorDetails): string {
  const keys = d.keys.length
    ? d.keys.map(
        (k) =>
          `  ${k.keyId}  ${k.prefix}…  ${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}  created ${k.createdAt}`,
      )
    : ['  none'];
  const webhook = d.webhook
    ? `${d.webhook.url} (alerts${d.webhook.eventFilter.length ? ` + ${d.webhook.eventFilter.join(', ')}` : ' only'}; secret not shown)`
    : 'none';
  return [
    `Operator ${d.operatorId} (${d.name})`,
    `status:      ${d.status}`,
    `mode:        ${d.mode}`,
    `created:     ${d.createdAt}`,
    `template:    ${d.templateId ?? 'none (data calls answer TEMPLATE_NOT_CONFIGURED)'}`,
    `retention:   ${retentionLine(d)}`,
    `rate limit:  ${describeRateLimit(d.rateLimit)}`,
    `webhook:     ${webhook}`,
    `keys:`,
    ...keys,
  ].join('\n');
}
