import { announcedCount, checkReruns, pagePhases } from '../../bench/lib/backfill';
import { planWithout, withdrawal } from '../../bench/lib/history';
import { planParts } from '../../core/fanout/plan';
import type { FanoutInput } from '../../workflows/types';

const transaction = (data: Record<string, unknown>): FanoutInput => ({
  internalEvent: 'entity_event.transaction',
  operatorId: 'op_1',
  externalId: 'p1',
  eventId: 'eev_1',
  eventType: 'transaction',
  data,
  occurredAt: '',
});

describe('the backfill benchmark’s seeded history', () => {
  it('plans a withdrawal without aml-threshold, though today’s planner plans it', () => {
    const input = transaction(withdrawal(7));
    expect(planParts(input).always).toContain('aml-threshold');
    expect(planWithout('aml-threshold', input)).toEqual({ always: [], ifSubscribed: ['operator-webhook'] });
  });

  it('keeps the other definitions a deposit plans', () => {
    expect(
      planWithout('aml-threshold', transaction({ type: 'deposit', amount: 5, currency: 'GBP' })),
    ).toEqual({
      always: ['kyc-on-deposit', 'affordability-check', 'source-of-funds'],
      ifSubscribed: ['operator-webhook'],
    });
  });

  it('seeds withdrawals under the default AML threshold (2,000)', () => {
    const amounts = Array.from({ length: 1000 }, (_, i) => Number(withdrawal(i).amount));
    expect(Math.max(...amounts)).toBeLessThan(2000);
  });
});

describe('checkReruns', () => {
  const ids = ['eev_a', 'eev_b', 'eev_c'];
  const run = (id: string, status = 'COMPLETED') => ({ workflowId: `redrive:rd_1:${id}`, status });

  it('finds nothing wrong when each event has one completed re-run', () => {
    expect(
      checkReruns(
        'rd_1',
        ids,
        ids.map((id) => run(id)),
      ),
    ).toEqual({
      executions: 3,
      missing: 0,
      duplicated: 0,
      extra: 0,
      notCompleted: 0,
    });
  });

  it('counts missing, doubled, foreign and unfinished re-runs', () => {
    const found = [run('eev_a'), run('eev_a', 'FAILED'), run('eev_b'), run('eev_x')];
    expect(checkReruns('rd_1', ids, found)).toEqual({
      executions: 4,
      missing: 1,
      duplicated: 1,
      extra: 1,
      notCompleted: 1,
    });
  });
});

describe('announcedCount', () => {
  it('reads the count the CLI prints before starting', () => {
    const lines = [
      'backfill of aml-threshold will run 1000 events (op_1, 2026-11-30T12:00:00.000Z to 2026-11-30T13:00:00.000Z)',
      'Started redrive:rd_1 (resume with --resume rd_1)',
    ];
    expect(announcedCount(lines)).toBe(1000);
    expect(announcedCount(['Nothing to do.'])).toBeUndefined();
  });
});

describe('pagePhases', () => {
  it('splits each page into its re-runs and the wait before the next page', () => {
    // Pages of 2 (by start time): 0–300, 1000–1200 and 2500–2600 ms; gaps 700 and 1300 ms.
    const e = (startMs: number, closeMs: number) => ({
      workflowId: `w${startMs}`,
      status: 'COMPLETED',
      startMs,
      closeMs,
    });
    const executions = [e(1000, 1200), e(0, 300), e(10, 250), e(1010, 1100), e(2500, 2600)];
    expect(pagePhases(executions, 2)).toEqual({ runMs: 200, gapMs: 1000 });
  });
});
