import { definitionMatches } from '../../workflows/definition';
import { catalog } from '../../workflows/fanout';
import type { FanoutInput } from '../../workflows/types';

const input = (internalEvent: string, data: Record<string, unknown> = {}): FanoutInput => ({
  internalEvent,
  operatorId: 'op_1',
  externalId: 'player_1',
  data,
  occurredAt: '2026-04-06T12:00:00.000Z',
});

const matching = (i: FanoutInput) =>
  catalog.filter((wf) => definitionMatches(wf.definition, i)).map((wf) => wf.definition.name);

describe('fanOut matching (definition trigger and condition)', () => {
  it.each([
    [
      'a deposit',
      input('entity_event.transaction', { type: 'deposit', amount: 10, currency: 'GBP' }),
      ['affordability-check', 'aml-threshold', 'kyc-on-deposit', 'operator-webhook'],
    ],
    [
      'a withdrawal',
      input('entity_event.transaction', { type: 'withdrawal', amount: 10, currency: 'GBP' }),
      ['aml-threshold', 'operator-webhook'],
    ],
    [
      'a self-exclusion',
      input('entity_event.block', { type: 'self_exclusion' }),
      ['operator-webhook', 'self-exclusion'],
    ],
    ['a block without a type', input('entity_event.block'), ['operator-webhook', 'self-exclusion']],
    ['another restriction', input('entity_event.block', { type: 'deposit_limit' }), ['operator-webhook']],
    [
      'a game round',
      input('entity_event.game_activity', { game_id: 'g', bet_amount: 1 }),
      ['operator-webhook'],
    ],
    ['entity.created', input('entity.created'), ['operator-webhook']],
    ['a state update', input('entity_state.updated.kyc_status', { value: {} }), ['operator-webhook']],
  ])('runs the right definitions for %s', (_name, event, expected) => {
    expect(matching(event)).toEqual(expected);
  });

  it('keeps the catalogue in name order, whatever the order of the export lines', () => {
    const names = catalog.map((wf) => wf.definition.name);
    expect(names).toEqual([...names].sort());
  });

  it('registers only definitions with unique kebab-case names whose workflow type is their exported function', () => {
    const names = catalog.map((wf) => wf.definition.name);
    expect(new Set(names).size).toBe(names.length);
    for (const wf of catalog) {
      expect(wf.definition.name).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(wf.name).toBe(wf.definition.name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()));
    }
    expect(names).not.toContain('deliver-webhook');
  });
});
