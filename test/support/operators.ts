import { createOperator } from '../../core/admin/operators';
import type { Db } from '../../core/db/pool';
import { api, P } from './http';

/** A new operator with the iGaming template (unless told otherwise) and a client using its key. */
export async function newOperator(
  db: Db,
  baseUrl: string,
  opts: { template?: boolean; mode?: 'live' | 'test'; name?: string } = {},
) {
  const op = await createOperator(db, {
    name: opts.name ?? 'test-operator',
    mode: opts.mode ?? 'live',
    withTemplate: opts.template ?? true,
  });
  return { ...op, client: api(baseUrl, op.apiKey) };
}

/** Creates a player entity through the API. */
export async function newPlayer(
  client: ReturnType<typeof api>,
  externalId: string,
  data: Record<string, unknown> = {},
) {
  const res = await client.post(`${P}/entities`, {
    entityType: 'player',
    externalId,
    data: { email: `${externalId}@example.com`, ...data },
  });
  if (res.status !== 201) throw new Error(`player create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as { id: string };
}
