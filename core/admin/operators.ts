import { insertApiKey, listApiKeys, revokeApiKey, type RevokeResult } from '../db/api-keys';
import { insertOperator, listOperators, setOperatorStatus } from '../db/operators';
import { withTransaction, type Db } from '../db/pool';
import { newKeyId, newOperatorId } from '../ids';
import { generateApiKey, type KeyMode } from '../security/api-keys';
import { IGAMING_TEMPLATE } from '../template/igaming';

/** Admin operations behind the CLI (the hosted product's platform API, here). */
export async function createOperator(
  db: Db,
  o: { name: string; mode: KeyMode; withTemplate: boolean },
): Promise<{
  operatorId: string;
  name: string;
  mode: KeyMode;
  templateId: string | null;
  apiKey: string;
  keyId: string;
}> {
  return withTransaction(db, async (tx) => {
    const op = await insertOperator(tx, {
      id: newOperatorId(),
      name: o.name,
      mode: o.mode,
      templateId: o.withTemplate ? IGAMING_TEMPLATE.id : null,
    });
    const key = generateApiKey(o.mode);
    const row = await insertApiKey(tx, {
      id: newKeyId(),
      operatorId: op.id,
      hash: key.hash,
      displayPrefix: key.displayPrefix,
    });
    return {
      operatorId: op.id,
      name: op.name,
      mode: op.mode,
      templateId: op.template_id,
      apiKey: key.plaintext,
      keyId: row.id,
    };
  });
}

export async function createKey(db: Db, operatorId: string, mode: KeyMode) {
  const key = generateApiKey(mode);
  const row = await insertApiKey(db, {
    id: newKeyId(),
    operatorId,
    hash: key.hash,
    displayPrefix: key.displayPrefix,
  });
  return { keyId: row.id, operatorId, apiKey: key.plaintext };
}

export const revokeKey = (db: Db, keyId: string): Promise<RevokeResult> =>
  withTransaction(db, (tx) => revokeApiKey(tx, keyId));
export const suspendOperator = (db: Db, id: string) => setOperatorStatus(db, id, 'suspended');
export const activateOperator = (db: Db, id: string) => setOperatorStatus(db, id, 'active');
export { listApiKeys, listOperators };
