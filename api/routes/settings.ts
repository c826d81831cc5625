import { z } from 'zod';
import { getOperator, updateSettings, type OperatorRow } from '../../core/db/operators';
import type { DomainDeps } from '../../core/domain/deps';
import { apiError } from '../../core/errors';
import { TEMPLATES, findTemplate } from '../../core/template/igaming';
import { defineRoute } from '../http/route';
import { ok } from '../schemas/common';

const Rule = z.object({
  hot_days: z.number().int().min(30).meta({ description: 'Days kept in the hot table (>= 30)' }),
  archive_days: z.number().int().min(1).max(1825).meta({ description: 'Days kept in the archive (<= 1825)' }),
});

const RetentionPolicy = z
  .object({ entity_events: Rule.optional(), entity_states: Rule.optional() })
  .strict()
  .meta({ id: 'RetentionPolicy' });

const PutSettingsBody = z
  .object({
    templateId: z.string().min(1).max(64).optional(),
    dataRetentionDays: z.number().int().min(1).max(3650).optional(),
    retentionPolicy: RetentionPolicy.optional(),
  })
  .strict()
  .meta({ id: 'PutSettingsRequest' });

const Settings = z
  .object({
    template: z.object({ id: z.string(), name: z.string(), version: z.string() }).nullable(),
    dataRetentionDays: z.number().nullable(),
    retentionPolicy: RetentionPolicy.nullable(),
  })
  .meta({ id: 'Settings' });

const TemplateSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    version: z.string(),
    schema: z.object({
      entity_types: z.record(
        z.string(),
        z.object({ required: z.array(z.string()), optional: z.array(z.string()) }),
      ),
      event_types: z.record(
        z.string(),
        z.object({ required: z.array(z.string()), optional: z.array(z.string()) }),
      ),
      state_keys: z.array(z.string()),
      pii_fields: z.record(z.string(), z.array(z.string())),
    }),
    created_at: z.string(),
  })
  .meta({ id: 'Template' });

function settingsOf(op: OperatorRow) {
  const t = findTemplate(op.template_id);
  return {
    template: t ? { id: t.id, name: t.name, version: t.version } : null,
    dataRetentionDays: op.data_retention_days,
    retentionPolicy: op.retention_policy,
  };
}

export function settingsRoutes(deps: DomainDeps, onSettingsChanged: (operatorId: string) => void) {
  return [
    defineRoute({
      method: 'get',
      path: '/templates',
      tag: 'Templates',
      summary: 'List the available templates',
      responses: { 200: { description: 'Templates', schema: ok(z.array(TemplateSchema)) } },
      handler: async () => ({ status: 200, body: { success: true, data: Object.values(TEMPLATES) } }),
    }),
    defineRoute({
      method: 'get',
      path: '/settings',
      tag: 'Settings',
      summary: "Get the operator's settings",
      responses: { 200: { description: 'Settings', schema: ok(Settings) } },
      handler: async (_ctx, { auth }) => {
        const op = await getOperator(deps.pool, auth.operatorId);
        if (!op) throw apiError({ code: 'UNAUTHORIZED', message: 'Missing or invalid API key' });
        return { status: 200, body: { success: true, data: settingsOf(op) } };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/settings',
      tag: 'Settings',
      summary: 'Set the template and retention rules',
      body: PutSettingsBody,
      responses: { 200: { description: 'Updated settings', schema: ok(Settings) } },
      handler: async (_ctx, { body, auth }) => {
        if (body.templateId && !findTemplate(body.templateId)) {
          throw apiError({
            code: 'VALIDATION_FAILED',
            message: `Unknown templateId "${body.templateId}". Available: ${Object.keys(TEMPLATES).join(', ')}`,
            details: [{ field: 'templateId', reason: 'is not an available template' }],
          });
        }
        const op = await updateSettings(deps.pool, auth.operatorId, body);
        onSettingsChanged(auth.operatorId);
        return { status: 200, body: { success: true, data: settingsOf(op) } };
      },
    }),
  ];
}
