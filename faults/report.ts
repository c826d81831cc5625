import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { ScenarioResult } from './scenario';

const HEADING = '## Fault suite';

const passed = (r: ScenarioResult) => r.expectations.every((e) => e.ok);

/** What the numbers alone do not say; kept with the renderer so every run writes it again. */
const NOTES = [
  '',
  '### Notes',
  '',
  '- Run order is d, e, f, a, b, c, g, h: d, e and f need the worker to reach their activities promptly,',
  '  and the load of a–c leaves it thousands of workflow tasks; g, the largest, and h come last. The table',
  '  lists them a–h. A scenario run on its own (`--only`) replaces only its row and details, which say so.',
  '- f restarts the worker with a retry window of seconds (and an auto-disable period shorter than',
  '  the outage) for itself only, then again with the stack’s settings for the other scenarios.',
  '  The messages of its first 25 s are retried until the window ends and logged failed; the',
  '  endpoint is then disabled automatically, and the messages after that are logged failed at once,',
  '  untried (before migration 012 they were neither sent nor logged, so `recover` could not bring',
  '  them back). One `recover` from before the outage, after enabling the endpoint, delivers them all.',
  '- The numbers come from a shared two-core machine with other test suites and benchmarks running',
  '  (load average around 10): drain times and latencies are pessimistic; no verdict depends on them.',
  '- Found and fixed with this suite: on SIGTERM the API waited for keep-alive connections that were',
  "  busy at that moment until its forced close at 10 s (Node's `server.close()` keeps them open after",
  '  their answer). It now answers `Connection: close` and closes connections as they go idle (e, quick',
  '  run: exit 10.2 s before, 2.8 s after). The rest of its exit time is the immediate workflow starts',
  '  still in flight, which it waits for; anything not started stays in the outbox for the relay.',
  "- d waits for the KYC activity's 1-minute start-to-close timeout before Temporal retries it on the",
  "  new worker, and e for the draining worker's call to hit its 20 s HTTP timeout (HTTP_TIMEOUT_MS in",
  '  the fault stack), so `--quick` (shorter phases, a 15 s Temporal outage) still takes minutes.',
  '- g counts waits, not events: its table columns are its deposits (each one workflow, one wait).',
  '  Its operator switches kyc-on-deposit, aml-threshold and affordability-check off (`PUT /workflows`',
  "  `definitions`): they add a KYC call and more activities to every deposit's workflow before its",
  '  wait opens, and the worker, not the waits, would set the pace of the setup. Temporal is paused with',
  '  SIGSTOP (calls hang unanswered; b stops it, so calls are refused). Every wait is open before the',
  '  first verdict, so each is expected to resolve by signal; "by lookback" (the verdict in the',
  "  wait's first read, no verdict signal in its history) stays 0 here. The race the lookback closes",
  '  is forced in `test/workflows/source-of-funds.test.ts`. The answered-after-restart count takes',
  "  verdicts sent after the kill; the suite's health poll sees the API back seconds after clients do.",
  '- h (KYC results, issue 22) runs after g. Its operator has a `sandbox` provider connection and, as',
  '  in g, aml-threshold, affordability-check and source-of-funds off. The sandbox process holds every',
  '  result (`PUT /v2/sandbox/delivery {"hold": true}`) until the phase\'s deposits all wait, then the',
  '  fault goes in and the results are released, 10 signed webhooks a second. The worker is stopped',
  '  with SIGTERM (it exits in well under a second: nothing is in flight, every workflow waits) and',
  '  started again 10 s after the last result was answered; its start (bundling the workflows) is part',
  '  of the time it was down. With the worker down or Temporal frozen the API still answers 2xx: the',
  "  inbox row and the result's internal event commit together; with the worker down the signal and",
  "  kyc-result's start reach Temporal at once and wait for a worker; with Temporal frozen they stay",
  "  in the outbox until it answers (the API's immediate call, or the relay's retry). The third phase",
  "  (the API down; beyond the two faults issue 22 names) makes the sandbox's retries happen (its",
  '  compressed Sumsub schedule: 0.5 s, 6 s, 30 s, 108 s) and shows them delivering. Either of the two',
  '  workflows may apply a result (the other finds it applied); the split is in the details.',
];

function renderRow(r: ScenarioResult): string {
  const t = r.tally;
  return `| ${r.id}. ${r.scenario} | ${r.load} | ${r.fault} | ${t.acknowledged} | ${t.stored} | ${t.workflows} | ${t.duplicates} | ${t.lost} | ${passed(r) ? 'pass' : '**FAIL**'} |`;
}

function renderDetails(r: ScenarioResult, runLine?: string): string[] {
  return [
    '',
    `### ${r.id}. ${r.scenario}`,
    '',
    ...(runLine ? [`- ${runLine}`] : []),
    ...r.measurements.map((m) => `- ${m}`),
    ...r.expectations.map((e) => `- ${e.ok ? 'pass' : '**FAIL**'}: ${e.name} (${e.detail})`),
  ];
}

export interface RunInfo {
  mode: string;
  seconds: number;
  commit: string;
}

const stamp = () => new Date().toISOString().slice(0, 16).replace('T', ' ');

/** The suite's section of docs/RELIABILITY.md, as Markdown. */
export function renderSection(results: ScenarioResult[], o: RunInfo): string {
  return [
    HEADING,
    '',
    'Written by `npm run faults` (see `faults/`), which starts its own stack of real processes on',
    'loopback (embedded Postgres, the Temporal dev server on a SQLite file, the KYC sandbox, the API',
    'and the worker as child processes), puts each scenario under sustained load from concurrent',
    'HTTP clients, injects the fault, and then counts with queries: events in Postgres for the',
    "scenario's operator, and fan-out workflows per ID in Temporal's visibility (any ID it lacks is",
    'asked for directly before it counts as lost). `lost` = acknowledged (201) but not stored, plus',
    'stored without a workflow; `duplicates` = workflow executions beyond one per event.',
    '',
    `Last run: ${o.mode} mode, ${stamp()} UTC, commit ${o.commit}, ${o.seconds.toFixed(0)} s in all.`,
    '',
    '| Scenario | Load | Fault | Acknowledged | Stored | Workflows | Duplicates | Lost | Result |',
    '| --- | --- | --- | --: | --: | --: | --: | --: | --- |',
    ...results.map(renderRow),
    ...results.flatMap((r) => renderDetails(r)),
    ...NOTES,
    '',
  ].join('\n');
}

/**
 * A run of one scenario (`--only`), merged into the section a full run wrote: its row and its
 * details are replaced (or added), each saying which run they come from, since the section's
 * "Last run" line speaks for the other rows. The notes are written again.
 */
export function mergeScenarioResults(section: string, results: ScenarioResult[], o: RunInfo): string {
  let lines = section.replace(/\n+$/, '').split('\n');
  for (const r of results) {
    const runLine = `run on its own: ${o.mode} mode (\`--only ${r.id}\`${o.mode === 'quick' ? ', `--quick`' : ''}), ${stamp()} UTC, commit ${o.commit}, ${o.seconds.toFixed(0)} s`;
    const row = renderRow(r);
    const at = lines.findIndex((l) => l.startsWith(`| ${r.id}. `));
    if (at >= 0) lines[at] = row;
    else {
      const rows = lines.map((l, i) => (/^\| [a-z]\. /.test(l) ? i : -1)).filter((i) => i >= 0);
      lines.splice((rows[rows.length - 1] ?? lines.length - 1) + 1, 0, row);
    }
    const details = renderDetails(r, runLine).slice(1); // its own blank line is already there
    const start = lines.findIndex((l) => l.startsWith(`### ${r.id}. `));
    if (start >= 0) {
      const after = lines.findIndex((l, i) => i > start && l.startsWith('### '));
      const end = after < 0 ? lines.length : after - 1; // keep the blank line before the next heading
      lines.splice(start, end - start, ...details);
    } else {
      const notes = lines.indexOf('### Notes');
      lines.splice(notes < 0 ? lines.length : notes, 0, ...details, '');
    }
  }
  const notes = lines.indexOf('### Notes');
  if (notes >= 0) lines = lines.slice(0, notes - 1);
  return [...lines, ...NOTES, ''].join('\n');
}

/** The suite's current section of the file, or undefined when it has none. */
export function readSection(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(HEADING);
  if (start < 0) return undefined;
  const rest = text.slice(start + HEADING.length);
  const next = rest.search(/^## /m);
  return text.slice(start, next < 0 ? text.length : start + HEADING.length + next);
}

/** Replaces only the suite's own section; the rest of the file belongs to others. */
export function writeSection(file: string, section: string): void {
  if (!existsSync(file)) {
    const fresh = ['# Reliability', '', section, '## Bad input and fuzzing', '', 'See below.', ''].join('\n');
    writeFileSync(file, fresh);
    return;
  }
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(HEADING);
  if (start < 0) {
    writeFileSync(file, `${text.trimEnd()}\n\n${section}`);
    return;
  }
  const rest = text.slice(start + HEADING.length);
  const next = rest.search(/^## /m);
  const end = next < 0 ? text.length : start + HEADING.length + next;
  writeFileSync(file, text.slice(0, start) + section + '\n' + text.slice(end));
}
