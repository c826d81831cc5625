import type { Queryable } from './pool';

export interface KycCheckRecord {
  operatorId: string;
  provider: string;
  checkId: string;
  applicantId: string;
  externalId: string;
  workflowId: string;
}

/** Records a check created at a provider; a retried attempt (same check) changes nothing. */
export async function recordKycCheck(db: Queryable, c: KycCheckRecord): Promise<void> {
  await db.query(
    `insert into kyc_checks (operator_id, provider, check_id, applicant_id, external_id, workflow_id)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (operator_id, provider, check_id) do nothing`,
    [c.operatorId, c.provider, c.checkId, c.applicantId, c.externalId, c.workflowId],
  );
}

/**
 * The entity a provider's result belongs to: by the check it names, else by its applicant
 * (the newest check of that applicant). Undefined for a check this operator never created.
 */
export async function findKycCheckEntity(
  db: Queryable,
  q: { operatorId: string; provider: string; checkId: string | null; applicantId: string | null },
): Promise<{ externalId: string; checkId: string } | undefined> {
  const { rows } = await db.query<{ external_id: string; check_id: string }>(
    `select external_id, check_id from kyc_checks
      where operator_id = $1 and provider = $2 and (check_id = $3 or applicant_id = $4)
      order by (check_id = $3) desc nulls last, created_at desc
      limit 1`,
    [q.operatorId, q.provider, q.checkId, q.applicantId],
  );
  const r = rows[0];
  return r ? { externalId: r.external_id, checkId: r.check_id } : undefined;
}
