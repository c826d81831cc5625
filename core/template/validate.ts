import type { ErrorDetail } from '../errors';
import { ownEntry, type FieldSet, type Template } from './igaming';

type FieldCheck = (value: unknown) => string | undefined;

const nonNegativeAmount: FieldCheck = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'must be a finite number >= 0';
const currency: FieldCheck = (v) =>
  typeof v === 'string' && /^[A-Z]{3}$/.test(v)
    ? undefined
    : 'must be a three-letter upper-case ISO-4217 code';
const country: FieldCheck = (v) =>
  typeof v === 'string' && /^[A-Z]{2}$/.test(v) ? undefined : 'must be a two-letter upper-case ISO-3166 code';
const nonEmptyString: FieldCheck = (v) =>
  typeof v === 'string' && v.trim().length > 0 ? undefined : 'must be a non-empty string';
const email: FieldCheck = (v) =>
  typeof v === 'string' && /^[^\s@]+@[^\s@]+$/.test(v) && v.length <= 320
    ? undefined
    : 'must be an email address';

/**
 * Types of the template's known fields, by name. Fields not listed here (and fields
 * beyond the template) are accepted as sent.
 */
const FIELD_CHECKS: Record<string, FieldCheck> = {
  amount: nonNegativeAmount,
  bet_amount: nonNegativeAmount,
  win_amount: nonNegativeAmount,
  currency,
  type: nonEmptyString,
  game_id: nonEmptyString,
  email,
};

const ENTITY_FIELD_CHECKS: Record<string, FieldCheck> = { ...FIELD_CHECKS, country };

function checkFields(
  data: Record<string, unknown>,
  fields: FieldSet,
  checks: Record<string, FieldCheck>,
): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const name of fields.required) {
    if (data[name] === undefined || data[name] === null) {
      details.push({ field: `data.${name}`, reason: 'is required' });
    }
  }
  for (const name of [...fields.required, ...fields.optional]) {
    const value = data[name];
    const check = checks[name];
    if (value === undefined || value === null || !check) continue;
    const problem = check(value);
    if (problem) details.push({ field: `data.${name}`, reason: problem });
  }
  return details;
}

/** U+0000 or an unpaired UTF-16 surrogate: text that Postgres jsonb refuses to store. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (s: string): boolean => s.includes('\u0000') || LONE_SURROGATE.test(s);
/** Deeper JSON would exhaust the stack of JSON.stringify (and of Postgres' parser) later on. */
export const MAX_JSON_DEPTH = 100;

/**
 * The first part of `value` that cannot be stored: a string or key jsonb cannot hold, a
 * number JSON cannot represent, or nesting past MAX_JSON_DEPTH. Checked up front so such a request is a VALIDATION_FAILED
 * (and only its own item in a batch), not a failed insert. Iterative, so deeply nested
 * input cannot exhaust the stack here.
 */
export function findUnstorableJson(value: unknown, path: string): ErrorDetail | undefined {
  const reason = 'must not contain U+0000 or unpaired UTF-16 surrogates';
  const todo: Array<[unknown, string, number]> = [[value, path, 0]];
  for (let next = todo.pop(); next; next = todo.pop()) {
    const [v, at, depth] = next;
    if (typeof v === 'string' && unstorable(v)) return { field: at, reason };
    // JSON.parse turns 1e309 into Infinity, which JSON.stringify would silently store as null.
    if (typeof v === 'number' && !Number.isFinite(v)) return { field: at, reason: 'must be a finite number' };
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_JSON_DEPTH)
      return { field: path, reason: `must not be nested more than ${MAX_JSON_DEPTH} levels deep` };
    for (const [k, child] of Object.entries(v)) {
      if (unstorable(k)) return { field: at, reason: `keys ${reason}` };
      todo.push([child, `${at}.${k}`, depth + 1]);
    }
  }
  return undefined;
}

export type TemplateCheck = { ok: true } | { ok: false; message: string; details: ErrorDetail[] };

export function validateEventData(
  template: Template,
  eventType: string,
  data: Record<string, unknown>,
): TemplateCheck {
  const allowed = Object.keys(template.schema.event_types);
  const fields = ownEntry(template.schema.event_types, eventType);
  if (!fields) {
    const dotted = eventType.includes('.')
      ? ` Event types are top-level names only; put the subtype in data (e.g. "type": "${eventType.split('.').slice(1).join('.')}").`
      : '';
    return {
      ok: false,
      message: `Unknown eventType "${eventType}". Allowed types: ${allowed.join(', ')}.${dotted}`,
      details: [{ field: 'eventType', reason: `must be one of: ${allowed.join(', ')}` }],
    };
  }
  const details = checkFields(data, fields, FIELD_CHECKS);
  const unstorable = findUnstorableJson(data, 'data');
  if (unstorable) details.push(unstorable);
  if (details.length === 0) return { ok: true };
  return {
    ok: false,
    message: `data does not match the "${eventType}" event type: ${summarise(details)}`,
    details,
  };
}

export function validateEntityData(
  template: Template,
  entityType: string,
  data: Record<string, unknown>,
): TemplateCheck {
  const allowed = Object.keys(template.schema.entity_types);
  const fields = ownEntry(template.schema.entity_types, entityType);
  if (!fields) {
    return {
      ok: false,
      message: `Unknown entityType "${entityType}". Allowed types: ${allowed.join(', ')}.`,
      details: [{ field: 'entityType', reason: `must be one of: ${allowed.join(', ')}` }],
    };
  }
  const details = checkFields(data, fields, ENTITY_FIELD_CHECKS);
  const unstorable = findUnstorableJson(data, 'data');
  if (unstorable) details.push(unstorable);
  if (details.length === 0) return { ok: true };
  return {
    ok: false,
    message: `data does not match the "${entityType}" entity type: ${summarise(details)}`,
    details,
  };
}

export function validateStateKey(template: Template, key: string): TemplateCheck {
  if (template.schema.state_keys.includes(key)) return { ok: true };
  const allowed = template.schema.state_keys.join(', ');
  return {
    ok: false,
    message: `Unknown state key "${key}". Allowed keys: ${allowed}.`,
    details: [{ field: 'key', reason: `must be one of: ${allowed}` }],
  };
}

function summarise(details: ErrorDetail[]): string {
  return details.map((d) => `${d.field} ${d.reason}`).join('; ');
}
