import type { Queryable } from './pool';

export interface OperatorRow {
  id: string;
  name: string;
  mode: 'live' | 'test';
  status: 'active' | 'suspended';
  template_id: string | null;
  data_retention_days: number | null;
  retention_policy: RetentionPolicy | null;
  /** Requests per minute; null = the API's RATE_LIMIT_PER_MINUTE, 0 = unlimited. */
  rate_limit_per_minute: number | null;
  created_at: Date;
}

export interface RetentionRule {
  hot_days: number;
  archive_days: number;
}
export interface RetentionPolicy {
  entity_events?: RetentionRule;
  entity_states?: RetentionRule;
}

const COLUMNS =
  'id, name, mode, status, template_id, data_retention_days, retention_policy, rate_limit_per_minute, created_at';

export async function insertOperator(
  db: Queryable,
  op: { id: string; name: string; mode: 'live' | 'test'; templateId: string | null },
): Promise<OperatorRow> {
  const { rows } = await db.query<OperatorRow>(
    `insert into operators (id, name, mode, template_id) values ($1, $2, $3, $4) returning ${COLUMNS}`,
    [op.id, op.name, op.mode, op.templateId],
  );
  return rows[0]!;
}

export async function listOperators(db: Queryable): Promise<OperatorRow[]> {
  const { rows } = await db.query<OperatorRow>(`select ${COLUMNS} from operators order by created_at, id`);
  return rows;
}

export async function getOperator(db: Queryable, id: string): Promise<OperatorRow | undefined> {
  const { rows } = await db.query<OperatorRow>(`select ${COLUMNS} from operators where id = $1`, [id]);
  return rows[0];
}

export async function setOperatorStatus(
  db: Queryable,
  id: string,
  status: 'active' | 'suspended',
): Promise<boolean> {
  const { rowCount } = await db.query('update operators set status = $2 where id = $1', [id, status]);
  return rowCount === 1;
}

/** null = the API's default; 0 = unlimited. False when there is no such operator. */
export async function setOperatorRateLimit(
  db: Queryable,
  id: string,
  perMinute: number | null,
): Promise<boolean> {
  const { rowCount } = await db.query('update operators set rate_limit_per_minute = $2 where id = $1', [
    id,
    perMinute,
  ]);
  return rowCount === 1;
}

export async function updateSettings(
  db: Queryable,
  id: string,
  s: { templateId?: string; dataRetentionDays?: number; retentionPolicy?: RetentionPolicy },
): Promise<OperatorRow> {
  // coalesce keeps a setting that the request did not mention.
  const { rows } = await db.query<OperatorRow>(
    `update operators
        set template_id = coalesce($2, template_id),
            data_retention_days = coalesce($3, data_retention_days),
            retention_policy = coalesce($4::jsonb, retention_policy)
      where id = $1
      returning ${COLUMNS}`,
    [
      id,
      s.templateId ?? null,
      s.dataRetentionDays ?? null,
      s.retentionPolicy ? JSON.stringify(s.retentionPolicy) : null,
    ],
  );
  return rows[0]!;
}
