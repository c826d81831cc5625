import { getState, listStates, putState } from '../db/states';
import { entityExists } from '../db/entities';
import { apiError } from '../errors';
import type { Template } from '../template/igaming';
import { findUnstorableJson, validateStateKey } from '../template/validate';
import type { DomainDeps } from './deps';
import { newFanoutId } from './entities';
import { entityNotFound } from './events';

export function checkStateKey(template: Template, key: string): void {
  const verdict = validateStateKey(template, key);
  if (!verdict.ok)
    throw apiError({ code: 'VALIDATION_FAILED', message: verdict.message, details: verdict.details });
}

export function checkStateValue(value: unknown): void {
  const bad = findUnstorableJson(value, 'value');
  if (bad)
    throw apiError({ code: 'VALIDATION_FAILED', message: `${bad.field} ${bad.reason}`, details: [bad] });
}

/** Sets one state value and fans out `entity_state.updated.<key>` if anything wants it. */
export async function setState(
  deps: DomainDeps,
  operatorId: string,
  template: Template,
  externalId: string,
  key: string,
  value: unknown,
): Promise<{ stateKey: string; value: unknown }> {
  checkStateKey(template, key);
  checkStateValue(value);
  const written = await putState(deps.pool, { operatorId, externalId, key, value, fanoutId: newFanoutId() });
  if (!written) throw entityNotFound(externalId);
  if (written.start) deps.dispatcher.dispatch(written.start);
  return { stateKey: key, value };
}

export async function readStates(deps: DomainDeps, operatorId: string, externalId: string) {
  const rows = await listStates(deps.pool, operatorId, externalId);
  if (rows.length === 0 && !(await entityExists(deps.pool, operatorId, externalId)))
    throw entityNotFound(externalId);
  return rows.map((r) => ({ stateKey: r.state_key, value: r.value, updatedAt: r.updated_at.toISOString() }));
}

export async function readState(
  deps: DomainDeps,
  operatorId: string,
  template: Template,
  externalId: string,
  key: string,
) {
  checkStateKey(template, key);
  const row = await getState(deps.pool, operatorId, externalId, key);
  if (row) return { stateKey: row.state_key, value: row.value, updatedAt: row.updated_at.toISOString() };
  if (!(await entityExists(deps.pool, operatorId, externalId))) throw entityNotFound(externalId);
  throw apiError({ code: 'NOT_FOUND', message: `State "${key}" is not set for entity "${externalId}"` });
}
