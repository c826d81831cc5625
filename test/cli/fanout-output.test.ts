import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, RetryState } from '@temporalio/common';
import { causes, parseTime, progressLine } from '../../cli/fanout';

describe('what the fanout CLI prints', () => {
  it('names the cause of a failed re-drive, not only "Workflow execution failed"', () => {
    const cause = ApplicationFailure.create({ message: 'page query timed out', type: 'Timeout' });
    const err = new WorkflowFailedError('Workflow execution failed', cause, RetryState.NON_RETRYABLE_FAILURE);
    expect(causes(err)).toBe('Workflow execution failed: page query timed out');
    expect(causes('plain')).toBe('plain');
  });

  it('shows progress against the announced total', () => {
    const p = {
      total: 40,
      scanned: 120,
      selected: 10,
      completed: 9,
      failed: 1,
      waiting: 0,
      pages: 2,
      cursor: null,
      done: false,
    };
    expect(progressLine(p)).toBe('10/40 25%: 9 completed, 1 failed (120 events read)');
    expect(progressLine({ ...p, total: null, done: true })).toBe(
      '10/?: 9 completed, 1 failed (120 events read), done',
    );
    // A definition that waits: its re-runs are started and left to wait, not awaited.
    expect(progressLine({ ...p, completed: 0, failed: 0, waiting: 10 })).toBe(
      '10/40 25%: 0 completed, 0 failed, 10 started and waiting (120 events read)',
    );
  });

  it('reads --since as an ISO time or a duration before now', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    expect(parseTime('90m', now)?.toISOString()).toBe('2026-11-30T10:30:00.000Z');
    expect(parseTime('2026-11-01T00:00:00Z', now)?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(parseTime('yesterday-ish', now)).toBeNull();
  });
});
