import type { Outcome } from './load';
import type { FaultStack } from './stack';
import type { Tally } from './verify';

export interface Expectation {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  id: string;
  scenario: string;
  /** e.g. "8 clients, 140 req/s for 30 s" */
  load: string;
  fault: string;
  tally: Tally;
  /** Measured values worth a line in the report (latencies, exit codes, provider calls). */
  measurements: string[];
  expectations: Expectation[];
}

export interface ScenarioContext {
  stack: FaultStack;
  quick: boolean;
  log: (m: string) => void;
  /** `--waits <n>`: g's number of waits instead of its mode's (a size between quick and full). */
  waits?: number;
}

export interface Scenario {
  id: string;
  name: string;
  /** Time this scenario adds to the suite's hard stop, beyond the common limit (g's setup of 10,000 waits). */
  extraLimitMs?: { quick: number; full: number };
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const expect = (name: string, ok: boolean, detail: string): Expectation => ({ name, ok, detail });

/** The expectations every scenario shares: nothing lost, nothing doubled, backlog drained. */
export function noLossExpectations(t: Tally): Expectation[] {
  return [
    expect(
      'every acknowledged event is stored',
      t.stored >= t.acknowledged && t.lost === 0,
      t.problems.join('; ') || `${t.acknowledged} acknowledged, ${t.stored} stored`,
    ),
    expect(
      'every stored event has exactly one workflow',
      t.workflows === t.stored && t.duplicates === 0,
      `${t.workflows} workflows for ${t.stored} events, ${t.duplicates} duplicates`,
    ),
    expect(
      'the fan-out backlog drained',
      t.backlog === 0,
      `${t.backlog} outbox rows left after ${t.drainSeconds.toFixed(1)} s`,
    ),
  ];
}

export function describeLoad(concurrency: number, outcomes: Outcome[], seconds: number): string {
  return `${concurrency} clients, ${(outcomes.length / seconds).toFixed(0)} req/s for ${seconds.toFixed(0)} s`;
}

export function countBy(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const k = o.status === 0 ? `no answer (${o.error ?? '?'})` : String(o.status);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k}: ${n}`).join(', ');
}
