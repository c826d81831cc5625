import { planParts } from '../../core/fanout/plan';
import { definitionNamed } from '../../workflows/catalog';
import { definitions } from '../../workflows/definitions';
import type { FanoutInput } from '../../workflows/types';

const input = (internalEvent: string, data: Record<string, unknown> = {}): FanoutInput => ({
  internalEvent,
  operatorId: 'op_1',
  externalId: 'player_1',
  data,
  occurredAt: '2026-04-06T12:00:00.000Z',
});

describe('the plan of an event (definition trigger, condition and subscription)', () => {
  it.each([
    [
      'a deposit',
      input('entity_event.transaction', { type: 'deposit', amount: 10, currency: 'GBP' }),
      ['kyc-on-deposit', 'aml-threshold', 'affordability-check', 'source-of-funds'],
    ],
    [
      'a withdrawal',
      input('entity_event.transaction', { type: 'withdrawal', amount: 10, currency: 'GBP' }),
      ['aml-threshold'],
    ],
    ['a self-exclusion', input('entity_event.block', { type: 'self_exclusion' }), ['self-exclusion']],
    ['a block without a type', input('entity_event.block'), ['self-exclusion']],
    ['another restriction', input('entity_event.block', { type: 'deposit_limit' }), []],
    ['a game round', input('entity_event.game_activity', { game_id: 'g', bet_amount: 1 }), []],
    ['entity.created', input('entity.created'), []],
    ['a state update', input('entity_state.updated.kyc_status', { value: {} }), []],
    ['a provider result', input('provider.webhook.kyc.approved', { checkId: 'chk_1' }), ['kyc-result']],
    ['a provider rejection', input('provider.webhook.kyc.rejected', { checkId: 'chk_1' }), ['kyc-result']],
  ])('plans the right definitions for %s', (_name, event, always) => {
    expect(planParts(event)).toEqual({ always, ifSubscribed: ['operator-webhook'] });
  });

  it('plans nothing for an internal event no definition triggers on', () => {
    expect(planParts(input('something.else'))).toEqual({ always: [], ifSubscribed: [] });
  });

  it('registers definitions with unique kebab-case names, each found by name', () => {
    const names = definitions.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const d of definitions) {
      expect(d.name).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(definitionNamed(d.name)).toBe(d);
    }
  });

  it('refuses a planned name this worker does not know (the task is retried, nothing is skipped)', () => {
    expect(() => definitionNamed('not-a-definition')).toThrow(/not registered in this worker/);
  });
});
