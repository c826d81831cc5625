/**
 * The built-in iGaming data template (`tpl_igaming` v1.0), as data. Validation is
 * generated from it (see validate.ts), and GET /templates publishes it as is.
 */
export interface FieldSet {
  required: string[];
  optional: string[];
}

export interface TemplateSchema {
  entity_types: Record<string, FieldSet>;
  event_types: Record<string, FieldSet>;
  state_keys: string[];
  pii_fields: Record<string, string[]>;
}

export interface Template {
  id: string;
  name: string;
  version: string;
  schema: TemplateSchema;
  created_at: string;
}

export const IGAMING_TEMPLATE: Template = {
  id: 'tpl_igaming',
  name: 'iGaming',
  version: '1.0',
  created_at: '2026-01-01T00:00:00.000Z',
  schema: {
    entity_types: {
      player: {
        required: ['email'],
        optional: [
          'first_name',
          'last_name',
          'phone',
          'date_of_birth',
          'country',
          'currency',
          'registration_date',
          'status',
          'vip_level',
        ],
      },
      operator: { required: [], optional: ['name', 'country', 'license'] },
      game: { required: [], optional: ['name', 'provider', 'category', 'rtp'] },
    },
    event_types: {
      transaction: {
        required: ['type', 'amount', 'currency'],
        optional: ['method', 'provider', 'reference', 'card_last4'],
      },
      game_activity: {
        required: ['game_id', 'bet_amount'],
        optional: ['game_name', 'provider', 'win_amount', 'currency', 'round_id'],
      },
      session: { required: [], optional: ['action', 'ip_address', 'country', 'device', 'browser'] },
      bonus: { required: [], optional: ['type', 'amount', 'currency', 'bonus_id'] },
      block: { required: [], optional: ['type', 'reason', 'duration_days', 'until'] },
      support: { required: [], optional: ['type', 'ticket_id', 'channel'] },
      affiliate: { required: [], optional: ['affiliate_id', 'campaign', 'source'] },
    },
    state_keys: ['balance', 'kyc_status', 'risk_score', 'loyalty_tier', 'sof_status'],
    pii_fields: { player: ['first_name', 'last_name', 'email', 'phone', 'date_of_birth'] },
  },
};

export const TEMPLATES: Record<string, Template> = { [IGAMING_TEMPLATE.id]: IGAMING_TEMPLATE };

/**
 * `record[key]` for the record's own keys only. Keys here come from requests: a plain
 * lookup would answer `constructor`, `toString` or `__proto__` from Object.prototype.
 */
export function ownEntry<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

export function findTemplate(id: string | null | undefined): Template | undefined {
  return id ? ownEntry(TEMPLATES, id) : undefined;
}
