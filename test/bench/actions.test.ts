import { readFileSync } from 'node:fs';
import path from 'node:path';
import { actionsOf } from '../../bench/lib/actions';
import { FIXTURES_DIR, fixtureHistory, type HistoryFixture } from '../../scripts/record-history';

const fixture = (name: string) =>
  fixtureHistory(JSON.parse(readFileSync(path.join(FIXTURES_DIR, `${name}.json`), 'utf8')) as HistoryFixture);

/** The benchmark's Action count, checked against recorded histories whose Actions are known. */
describe('Temporal Actions counted from a history', () => {
  it.each([
    ['process-event-game-round', 1, 'a client start, nothing else'],
    ['process-event-self-exclusion', 3, 'start + flagRisk + the alert'],
    [
      'process-event-deposit',
      12,
      'start + 11 activities (KYC 3 + alert, AML 2 + alert, affordability 2 + alert, source of funds 1)',
    ],
    ['process-event-kyc-refused', 7, 'start + 5 activities + one FailedDefinitions upsert'],
    ['process-event-webhook-retried', 3, 'start + one activity tried twice'],
  ])('%s: %i (%s)', (name, expected) => {
    expect(actionsOf(fixture(name))).toBe(expected);
  });
});
