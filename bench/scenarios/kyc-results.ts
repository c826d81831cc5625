import { fmt, ratio, runBaseline, type BenchContext } from '../lib/context';
import { checkKycHistories, fetchKycHistories, type KycHistory } from '../lib/kyc-histories';
import { percentile, waitUntil } from '../lib/measure';
import { callApi, newOperator, type BenchOperator } from '../lib/stack';

/** Webhooks a second the sandbox sends once released (a pause of 1000/RATE ms between two sends). */
const RATE = Number(process.env.BENCH_KYC_RESULTS_RATE ?? 25);
/**
 * Off for the benchmark's operators: each adds activities to every deposit's workflow that have
 * nothing to do with the result's path, and on two shared cores they would set the setup's pace.
 */
const OFF = ['aml-threshold', 'affordability-check', 'source-of-funds'];

interface Pass {
  label: string;
  twice: boolean;
  outOfOrder: boolean;
}

/**
 * KYC results (issue 22): n first deposits of an operator with a `sandbox` provider connection,
 * each one check the sandbox answers `pending`. The sandbox holds every result until all n
 * deposits' workflows are waiting (kyc_status `pending`, their wait open), then sends the
 * results' signed webhooks to the API at RATE a second. Measured per check from the delivery
 * accepted by the API (its inbox row's `received_at`, the accepting transaction's time) to
 * kyc_status `approved` written (a bench-only trigger on entity_states records each kyc_status
 * write at `clock_timestamp()`): both Postgres's clock. Twice: results delivered once in the
 * order of the checks, then (new players) every result twice, newest first.
 *
 * Exactly-once, counted in Postgres (one kyc_checks row, one accepted inbox row applied and
 * none superseded, kyc_status approved naming it, one `approved` write and one `pending` write
 * per player in the trigger's log) and in Temporal histories (the deposit's workflow and the
 * result's kyc-result workflow: one of the two applied it; each completed; the deposit's ended
 * approved; no event key signalled twice).
 *
 * Baseline, in the same run at the rate the first pass reached: a plain client signalling
 * plain waiting workflows that then write one row in one activity (bench/baselines/signal-write-floor.ts).
 */
export async function kycResults(ctx: BenchContext): Promise<void> {
  // BENCH_KYC_RESULTS_N: another size (on a busy shared machine a full run of 1,000 takes 40 min).
  const n = Number(process.env.BENCH_KYC_RESULTS_N ?? (ctx.quick ? 100 : 1_000));
  await installWriteLog(ctx);
  const passes: Pass[] = [
    { label: 'once, in order', twice: false, outOfOrder: false },
    { label: 'twice each, newest first', twice: true, outOfOrder: true },
  ];
  const outcomes: PassOutcome[] = [];
  for (const [i, pass] of passes.entries()) outcomes.push(await runPass(ctx, pass, n, `kyc${i + 1}-`));
  ctx.kyc.webhooks.mode = {
    ...ctx.kyc.webhooks.mode,
    hold: false,
    twice: false,
    outOfOrder: false,
    gapMs: 0,
  };

  const first = outcomes[0]!;
  const floor = await runBaseline<{ count: number; p50: number; p99: number }>('signal-write-floor.ts', [
    ctx.s.temporalAddress,
    ctx.s.namespace,
    ctx.s.databaseUrl,
    String(n),
    String(Math.max(1, Math.round(first.sendRate))),
  ]);
  ctx.log(
    `kyc-results: plain signal → activity wrote a row p99 ${fmt(floor.p99)} ms (p50 ${fmt(floor.p50)}, ${floor.count})`,
  );
  for (const o of outcomes) {
    ctx.rows.push({
      benchmark: 'KYC results',
      metric: `provider webhook accepted (inbox row) → kyc_status approved written, p99; ${fmt(n)} checks, results ${o.pass.label}, sent at ${fmt(o.sendRate, 1)}/s`,
      measured: `${fmt(o.p99)} ms (p50 ${fmt(o.p50)}; ${o.latencies} of ${fmt(n)}; applied by the waiting workflow ${o.byDeposit}, by kyc-result ${o.byResult}; of which accepted → signal in the waiting workflow's history p99 ${fmt(o.toSignal.p99)} ms, p50 ${fmt(o.toSignal.p50)})`,
      baseline: `${fmt(floor.p99)} ms (p50 ${fmt(floor.p50)}): a plain client signalling plain waiting workflows that write one row in one activity, ${fmt(Math.round(first.sendRate))}/s`,
      ratio: ratio(o.p99, floor.p99),
      target: '— (measured, issue 22 sets none)',
    });
    ctx.rows.push({
      benchmark: 'KYC results',
      metric: `exactly once, results ${o.pass.label}: Postgres (kyc_checks, inbox, entity_states, kyc_status writes) and Temporal histories`,
      measured: o.summary,
      baseline: '—',
      ratio: '—',
      target: `each of ${fmt(n)} approved exactly once`,
      pass: o.problems.length === 0,
    });
  }
}

interface PassOutcome {
  pass: Pass;
  sendRate: number;
  p50: number;
  p99: number;
  latencies: number;
  byDeposit: number;
  byResult: number;
  toSignal: { p50: number; p99: number; n: number };
  summary: string;
  problems: string[];
}

async function runPass(ctx: BenchContext, pass: Pass, n: number, prefix: string): Promise<PassOutcome> {
  const op = await newOperator(ctx.s, `bench-kyc-results-${prefix}`);
  await callApi(ctx.api, op, 'POST', '/providers/connections', { provider: 'sandbox' });
  await callApi(ctx.api, op, 'PUT', '/workflows', {
    definitions: Object.fromEntries(OFF.map((d) => [d, { enabled: false }])),
  });
  ctx.kyc.webhooks.mode = {
    ...ctx.kyc.webhooks.mode,
    hold: true,
    twice: pass.twice,
    outOfOrder: pass.outOfOrder,
    gapMs: 1000 / RATE,
  };
  const players = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (let from = 0; from < n; from += 1000)
    await callApi(
      ctx.api,
      op,
      'POST',
      '/batch/entities',
      players.slice(from, from + 1000).map((externalId) => ({
        entityType: 'player',
        externalId,
        data: { email: `${externalId}@example.com`, country: 'GB', currency: 'GBP' },
      })),
    );
  const setupAt = Date.now();
  for (let from = 0; from < n; from += 1000)
    await callApi(
      ctx.api,
      op,
      'POST',
      '/batch/events',
      players.slice(from, from + 1000).map((externalId) => ({
        externalId,
        eventType: 'transaction',
        // Below KYC_DEPOSIT_THRESHOLD: a check because it is the player's first deposit.
        data: { type: 'deposit', amount: 50, currency: 'GBP', method: 'card' },
      })),
    );
  await waitUntil(
    async () => (await count(ctx, op, 'entity_waits')) === n && (await pendingCount(ctx, op)) === n,
    900_000,
    `${n} KYC checks pending, their waits open`,
    500,
  );
  const checkIds = new Set(ctx.kyc.checks.filter((c) => c.applicantId.startsWith(prefix)).map((c) => c.id));
  ctx.log(
    `kyc-results (${pass.label}): ${n} checks pending after ${fmt((Date.now() - setupAt) / 1000, 1)} s (${checkIds.size} at the sandbox); releasing the results`,
  );

  const copies = pass.twice ? 2 : 1;
  const attemptsOf = () => ctx.kyc.webhooks.attempts.filter((a) => checkIds.has(a.checkId));
  const releasedAt = Date.now();
  ctx.kyc.webhooks.mode = { ...ctx.kyc.webhooks.mode, hold: false };
  await waitUntil(
    async () => attemptsOf().length >= n * copies,
    900_000,
    'the sandbox sending every result',
    250,
  );
  const sent = attemptsOf();
  const sendSeconds = (Math.max(...sent.map((a) => a.at.getTime())) - releasedAt) / 1000;
  const sendRate = sent.length / sendSeconds;
  await waitUntil(
    async () => (await statusCount(ctx, op, 'approved')) === n,
    900_000,
    `${n} kyc_status approved`,
    250,
  ).catch((err: unknown) => ctx.log(`kyc-results: ${String(err)}`));
  await waitUntil(
    async () =>
      (await ctx.s.temporal.workflow.count(`OperatorId = '${op.operatorId}' AND ExecutionStatus = 'Running'`))
        .count === 0,
    900_000,
    'every workflow of the pass closed',
    1000,
  ).catch((err: unknown) => ctx.log(`kyc-results: ${String(err)}`));
  ctx.log(
    `kyc-results (${pass.label}): ${sent.length} webhooks sent in ${fmt(sendSeconds, 1)} s (${fmt(sendRate, 1)}/s); verifying`,
  );

  const { rows: lags } = await ctx.s.pool.query<{ ms: number }>(
    `select extract(epoch from w.written_at - i.received_at) * 1000 as ms
       from provider_webhook_inbox i
       join bench_kyc_status_writes w
         on w.operator_id = i.operator_id and w.external_id = i.external_id and w.value->>'deliveryId' = i.id
      where i.operator_id = $1 and w.value->>'status' = 'approved'`,
    [op.operatorId],
  );
  const latencies = lags.map((r) => Number(r.ms)).sort((a, b) => a - b);
  ctx.log(
    `kyc-results (${pass.label}): webhook accepted → kyc_status approved written p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms, max ${fmt(latencies[latencies.length - 1] ?? NaN)} ms (${latencies.length})`,
  );
  const verdict = await verifyPass(ctx, op, n, copies, checkIds, sent);
  ctx.log(
    `kyc-results (${pass.label}): ${verdict.summary}; accepted → waiting workflow signalled p50 ${fmt(verdict.toSignal.p50)} ms, p99 ${fmt(verdict.toSignal.p99)} ms`,
  );
  for (const p of verdict.problems) ctx.log(`kyc-results (${pass.label}): PROBLEM ${p}`);
  return {
    pass,
    sendRate,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    latencies: latencies.length,
    ...verdict,
  };
}

/** Every count that says each check's result was accepted once and applied once. */
async function verifyPass(
  ctx: BenchContext,
  op: BenchOperator,
  n: number,
  copies: number,
  checkIds: Set<string>,
  sent: Array<{ webhookId: string; status: number }>,
) {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const pool = ctx.s.pool;
  const one = async (sql: string) => (await pool.query<{ n: number }>(sql, [op.operatorId])).rows[0]!.n;

  const checks = await one(
    `select count(distinct external_id)::int as n from kyc_checks where operator_id = $1`,
  );
  const checkRows = await one(`select count(*)::int as n from kyc_checks where operator_id = $1`);
  need(checks === n && checkRows === n, `kyc_checks: ${checkRows} rows for ${checks} players, ${n} expected`);
  const non2xx = sent.filter((a) => a.status < 200 || a.status >= 300).length;
  const webhooks = new Set(sent.map((a) => a.webhookId)).size;
  need(non2xx === 0, `${non2xx} webhook sends not answered 2xx`);
  need(sent.length === n * copies && webhooks === n, `${sent.length} sends of ${webhooks} webhooks`);
  const { rows: inbox } = await pool.query<{
    id: string;
    kyc_check_id: string;
    outcome: string;
    applied_at: Date | null;
    applied_by: string | null;
    superseded_at: Date | null;
  }>(
    `select id, kyc_check_id, outcome, applied_at, applied_by, superseded_at
       from provider_webhook_inbox where operator_id = $1`,
    [op.operatorId],
  );
  const accepted = inbox.filter((r) => r.outcome === 'accepted');
  const applied = accepted.filter((r) => r.applied_at);
  const superseded = accepted.filter((r) => r.superseded_at).length;
  const inboxChecks = new Set(accepted.map((r) => r.kyc_check_id));
  need(
    inbox.length === n &&
      accepted.length === n &&
      inboxChecks.size === n &&
      [...inboxChecks].every((c) => checkIds.has(c)),
    `inbox: ${inbox.length} rows, ${accepted.length} accepted, for ${inboxChecks.size} checks (${n} expected)`,
  );
  need(
    applied.length === n && superseded === 0,
    `inbox: ${applied.length} applied, ${superseded} superseded`,
  );
  const approved = await one(
    `select count(*)::int as n from entity_states s
       join provider_webhook_inbox i on i.id = s.value->>'deliveryId' and i.operator_id = s.operator_id
      where s.operator_id = $1 and s.state_key = 'kyc_status' and s.value->>'status' = 'approved'
        and i.external_id = s.external_id`,
  );
  need(approved === n, `kyc_status approved (naming its own inbox row): ${approved}/${n}`);
  const { rows: writes } = await pool.query<{ approved: number; pending: number; total: number }>(
    `select count(*) filter (where value->>'status' = 'approved')::int as approved,
            count(*) filter (where value->>'status' = 'pending')::int as pending,
            count(*)::int as total
       from bench_kyc_status_writes where operator_id = $1 group by external_id`,
    [op.operatorId],
  );
  const oddWrites = writes.filter((w) => w.approved !== 1 || w.pending !== 1 || w.total !== 2).length;
  need(
    writes.length === n && oddWrites === 0,
    `kyc_status writes: ${writes.length} players written, ${oddWrites} not exactly pending once then approved once`,
  );

  // Temporal: each check's two workflows.
  const { rows: pairs } = await pool.query<{
    check_id: string;
    deposit: string;
    delivery: string;
    received_at: Date;
  }>(
    `select c.check_id, c.workflow_id as deposit, i.id as delivery, i.received_at
       from kyc_checks c
       left join provider_webhook_inbox i
         on i.operator_id = c.operator_id and i.kyc_check_id = c.check_id and i.outcome = 'accepted'
      where c.operator_id = $1`,
    [op.operatorId],
  );
  const resultWf = (delivery: string) => `provider.webhook.kyc.approved:${delivery}`;
  const deposits = await fetchKycHistories(
    ctx.s.temporal,
    pairs.map((p) => p.deposit),
    'kyc-on-deposit',
  );
  const results = await fetchKycHistories(
    ctx.s.temporal,
    pairs.flatMap((p) => (p.delivery ? [resultWf(p.delivery)] : [])),
    'kyc-result',
  );
  const h = checkKycHistories(
    pairs.map((p) => ({
      checkId: p.check_id,
      deposit: deposits.get(p.deposit),
      result: p.delivery ? results.get(resultWf(p.delivery)) : undefined,
    })),
    'approved',
  );
  for (const [kind, list] of Object.entries(h.problems))
    need(list.length === 0, `histories, ${kind}: ${list.length} (${list.slice(0, 3).join('; ')})`);
  // The inbox names the workflow that applied it: the one whose history says it applied.
  const appliedIn = (wf: string | null) =>
    (deposits.get(wf ?? '') ?? results.get(wf ?? ''))?.applies.some(
      (a: KycHistory['applies'][number]) => a.applied,
    );
  const misnamed = applied.filter((r) => !appliedIn(r.applied_by)).length;
  need(misnamed === 0, `${misnamed} inbox rows whose applied_by workflow did not apply them`);
  const resultWorkflows = (
    await ctx.s.temporal.workflow.count(
      `OperatorId = '${op.operatorId}' AND InternalEvent STARTS_WITH 'provider.webhook.kyc.'`,
    )
  ).count;
  need(resultWorkflows === n, `${resultWorkflows} kyc-result workflows (visibility), ${n} expected`);

  // Where the time goes: accepted → the waiting workflow's signal in its history (our inbox
  // transaction, the outbox row, the dispatcher's settle and signal call).
  const toSignal = pairs
    .flatMap((p) => {
      const at = deposits.get(p.deposit)?.firstSignalAt;
      return at !== undefined && p.received_at ? [at - p.received_at.getTime()] : [];
    })
    .sort((a, b) => a - b);
  const summary =
    `${problems.length === 0 ? 'all' : 'NOT all'} of: ${checkRows} kyc_checks; ${sent.length} webhook sends (${webhooks} distinct) all 2xx; ` +
    `${accepted.length} inbox rows accepted, ${applied.length} applied, ${superseded} superseded; ${approved} kyc_status approved; ` +
    `${writes.length - oddWrites} players written pending once then approved once; ${deposits.size} deposit + ${results.size} kyc-result histories: ` +
    `each check applied once (${h.byDeposit} by the waiting workflow, ${h.byResult} by kyc-result), applyKycResult at most once per workflow, all completed approved, no key signalled twice; ${resultWorkflows} kyc-result workflows`;
  return {
    summary,
    problems,
    byDeposit: h.byDeposit,
    byResult: h.byResult,
    toSignal: { p50: percentile(toSignal, 50), p99: percentile(toSignal, 99), n: toSignal.length },
  };
}

/**
 * A bench-only log of every kyc_status write (a trigger on entity_states, in the benchmark's own
 * database): the product keeps only the current value, and exactly-once is about the writes.
 */
async function installWriteLog(ctx: BenchContext): Promise<void> {
  await ctx.s.pool.query(`
    create table if not exists bench_kyc_status_writes (
      operator_id text not null,
      external_id text not null,
      value jsonb not null,
      written_at timestamptz not null default clock_timestamp()
    );
    create or replace function bench_log_kyc_status_write() returns trigger language plpgsql as $$
    begin
      insert into bench_kyc_status_writes (operator_id, external_id, value)
      values (new.operator_id, new.external_id, new.value);
      return null;
    end $$;
    drop trigger if exists bench_kyc_status_writes on entity_states;
    create trigger bench_kyc_status_writes after insert or update on entity_states
      for each row when (new.state_key = 'kyc_status') execute function bench_log_kyc_status_write();
  `);
}

async function count(ctx: BenchContext, op: BenchOperator, table: 'entity_waits'): Promise<number> {
  const { rows } = await ctx.s.pool.query<{ n: number }>(
    `select count(*)::int as n from ${table} where operator_id = $1`,
    [op.operatorId],
  );
  return rows[0]!.n;
}

async function statusCount(ctx: BenchContext, op: BenchOperator, status: string): Promise<number> {
  const { rows } = await ctx.s.pool.query<{ n: number }>(
    `select count(*)::int as n from entity_states
      where operator_id = $1 and state_key = 'kyc_status' and value->>'status' = $2`,
    [op.operatorId, status],
  );
  return rows[0]!.n;
}

const pendingCount = (ctx: BenchContext, op: BenchOperator) => statusCount(ctx, op, 'pending');
