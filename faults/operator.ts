import { createOperator } from '../core/admin/operators';
import type { Db } from '../core/db/pool';
import { API_PREFIX as P } from '../api/openapi';
import { postJson } from './load';

export interface RunOperator {
  operatorId: string;
  apiKey: string;
  players: string[];
}

/**
 * Each scenario records as its own operator, so "stored" and "workflows" are counted for that
 * run alone (events.operator_id, the OperatorId search attribute).
 */
export async function newRunOperator(
  db: Db,
  apiUrl: string,
  name: string,
  playerIds: string[],
): Promise<RunOperator> {
  const op = await createOperator(db, { name: `faults-${name}`, mode: 'live', withTemplate: true });
  for (const externalId of playerIds) {
    const res = await postJson(`${apiUrl}${P}/entities`, op.apiKey, {
      entityType: 'player',
      externalId,
      data: { email: `${externalId}@example.com`, country: 'GB', currency: 'GBP' },
    });
    if (res.status !== 201)
      throw new Error(`creating ${externalId}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return { operatorId: op.operatorId, apiKey: op.apiKey, players: playerIds };
}

export const players = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}_${i}`);
