import { patternMatches } from '../../workflows/definition';
import { createTestDatabase, type TestDatabase } from '../support/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

// [pattern, internal event, matches]
const cases: Array<[string, string, boolean]> = [
  ['entity_event.transaction', 'entity_event.transaction', true],
  ['entity_event.transaction', 'entity_event.transactions', false],
  ['entity_event.*', 'entity_event.transaction', true],
  ['entity_event.*', 'entity.created', false],
  ['*', 'entity_state.updated.kyc_status', true],
  ['entity_state.updated.kyc_*', 'entity_state.updated.kyc_status', true],
  // `_` and `%` are plain characters, not LIKE wildcards.
  ['entity_event.game_activity', 'entity_event.gameXactivity', false],
  ['entity_event.game_*', 'entity_event.gameXround', false],
  ['entity_event.%', 'entity_event.transaction', false],
  // `*` is a wildcard only at the end.
  ['entity_*.transaction', 'entity_event.transaction', false],
];

describe('one rule for a trigger or event filter matching an internal event', () => {
  it.each(cases)('%s against %s: %s, in TypeScript and in SQL alike', async (pattern, event, expected) => {
    expect(patternMatches(pattern, event)).toBe(expected);
    const { rows } = await db.pool.query<{ one: boolean; filter: boolean }>(
      'select internal_event_matches($1, $2) as one, webhook_filter_matches(array[$1], $2) as filter',
      [pattern, event],
    );
    expect(rows[0]).toEqual({ one: expected, filter: expected });
  });
});
