import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  collectSqlSites,
  findUnscoped,
  loadParser,
  operatorScopeProblems,
  type Finding,
} from '../support/sql-scan';

const ROOT = path.join(__dirname, '..', '..');

/**
 * Statements on operator-scoped tables that are meant to span operators, by `file#function`,
 * each with its reason. On a distributed Postgres (Citus, distributed by operator_id: see
 * docs/SCALING.md, "Past one primary") these become multi-shard statements, run per node. Any
 * other statement on those tables must name one operator; a new one that does not fails this
 * test until it does, or until it is added here with its reason.
 */
const SPANS_OPERATORS: Record<string, string> = {
  'core/db/outbox.ts#leaseDueStarts':
    "the relay's sweep: takes due rows of every operator in turns (fairness across operators); distributed, one sweep per node over its own shards",
  'core/db/outbox.ts#outboxStats':
    'the /metrics gauge of the whole backlog: one aggregate over all shards, read every scrape',
  'core/db/waits.ts#leaseDueSignals': "the relay's sweep of queued wait signals, as leaseDueStarts",
  'core/db/rate-limits.ts#deleteOldWindows':
    'drops every budget window older than ten minutes, whoever it counted: a time sweep, run per node over its shards',
  'core/db/webhook-log.ts#pruneWebhookLog':
    'retention of the webhook delivery log by age (WEBHOOK_LOG_RETENTION_DAYS, one horizon for all operators): a time sweep, per node',
};

const RUNTIME_FOLDERS = ['api', 'activities', 'worker', 'cli', 'core', 'scripts'];

function runtimeFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--', ...RUNTIME_FOLDERS.map((f) => `${f}/*.ts`)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out.trim().split('\n').filter(Boolean);
}

const describeFinding = (f: Finding) => `${f.site.file}:${f.site.line} (${f.site.fn}): ${f.problem}`;

beforeAll(loadParser);

describe('the judge of operator scope', () => {
  it.each([
    ['select * from events where id = $1', 'events not filtered by operator_id'],
    [
      'select * from events e where e.external_id = $1 and e.event_type = $2',
      'events (as e) not filtered by operator_id',
    ],
    [
      'update entity_states set value = $1 where external_id = $2',
      'entity_states not filtered by operator_id',
    ],
    ['delete from fanout_outbox where workflow_id = $1', 'fanout_outbox not filtered by operator_id'],
    [
      'insert into events (id, external_id) values ($1, $2)',
      'insert into events without an operator_id column',
    ],
    // A join between two scoped tables binds neither to one operator.
    [
      'select 1 from entity_waits w join events e on e.operator_id = w.operator_id where w.workflow_id = $1',
      'entity_waits (as w) not filtered by operator_id',
    ],
    // The filter of a subquery is the subquery's own: the outer delete still spans operators.
    [
      'delete from events where id in (select id from events where operator_id = $1 limit 10)',
      'events not filtered by operator_id',
    ],
    [
      'select id from events where id = $1 union all select id from events_archive where operator_id = $2',
      'events not filtered by operator_id',
    ],
    ['select from events where operator_id = (', expect.stringContaining('does not parse')],
  ])('refuses %s', (sql, problem) => {
    expect(operatorScopeProblems(sql)).toContainEqual(problem);
  });

  it.each([
    'select * from events where operator_id = $1 and id = $2',
    'select * from events e where e.operator_id = any($1::text[]) and e.id = any($2::text[])',
    'select 1 from entity_waits w join events e on e.operator_id = w.operator_id where w.operator_id = $1',
    'select id from events where (operator_id, id) in (select * from unnest($1::text[], $2::text[]))',
    'delete from events where operator_id = $1 and id in (select id from events where operator_id = $1 limit 10)',
    'with i as (select $1::text as operator_id) insert into fanout_outbox (workflow_id, operator_id) select $2, operator_id from i',
    // A CTE named like nothing scoped, joined on its own column: a value, so it binds.
    'with d as (delete from fanout_outbox where operator_id = $1 returning *) select 1 from d join entity_waits w on w.operator_id = d.operator_id',
  ])('accepts %s', (sql) => {
    expect(operatorScopeProblems(sql)).toEqual([]);
  });

  it('rebuilds a statement from the constants and helpers it interpolates, as the source reads', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sql-scan-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'sample.ts'),
        [
          "const TABLE = 'events';",
          'const COLS = [`id`, `data`].join(", ");',
          'const where = (col: string) => `where ${col} = $1`;',
          'declare const db: { query(sql: string | { text: string }): void };',
          'export function scoped() { db.query(`select ${COLS} from ${TABLE} ${where("operator_id")}`); }',
          'export function unscoped(flag: boolean) { db.query({ text: `select 1 from ${TABLE} ${flag ? where("operator_id") : where("id")}` }); }',
        ].join('\n'),
      );
      const sites = collectSqlSites(dir, ['sample.ts']);
      expect(sites.map((s) => [s.fn, s.variants])).toEqual([
        ['scoped', ['select id, data from events where operator_id = $1']],
        ['unscoped', ['select 1 from events where operator_id = $1', 'select 1 from events where id = $1']],
      ]);
      expect(findUnscoped(sites).map((f) => `${f.site.fn}: ${f.problem}`)).toEqual([
        'unscoped: events not filtered by operator_id',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the service's SQL on operator-scoped tables", () => {
  let findings: Finding[];
  let siteCount: number;

  beforeAll(() => {
    const sites = collectSqlSites(ROOT, runtimeFiles());
    siteCount = sites.length;
    findings = findUnscoped(sites);
  }, 120_000);

  it('finds the statements (a scan that reads nothing would pass anything)', () => {
    expect(siteCount).toBeGreaterThan(80);
  });

  it('names one operator in every statement, apart from the listed sweeps', () => {
    const unlisted = findings.filter((f) => !(`${f.site.file}#${f.site.fn}` in SPANS_OPERATORS));
    expect(unlisted.map(describeFinding)).toEqual([]);
  });

  it('lists no sweep that no longer spans operators', () => {
    const seen = new Set(findings.map((f) => `${f.site.file}#${f.site.fn}`));
    expect(Object.keys(SPANS_OPERATORS).filter((k) => !seen.has(k))).toEqual([]);
  });
});
