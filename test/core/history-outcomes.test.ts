import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR, fixtureHistory, type HistoryFixture } from '../../scripts/record-history';
import { outcomesFromHistory } from '../../core/temporal/history-outcomes';

/**
 * A recorded run (the KYC provider refuses the check) cut at successive points, as a running
 * workflow's history would stand then. Event ids of the fixture: 5-8 schedule the first activity
 * of kyc-on-deposit, aml-threshold, affordability-check and source-of-funds; they complete at 13,
 * 19, 10 and 20; the workflow task completed at 15 schedules requestProviderCheck (16), which fails
 * at 25; the task completed at 23 saw aml and source-of-funds done; the task completed at 28
 * upserts FailedDefinitions (29).
 */
const fixture = JSON.parse(
  readFileSync(path.join(FIXTURES_DIR, 'process-event-kyc-refused.json'), 'utf8'),
) as HistoryFixture;
const events = fixtureHistory(fixture).events ?? [];
const plan = ['kyc-on-deposit', 'aml-threshold', 'affordability-check', 'source-of-funds'];
/** The history up to and including event `id`. */
const upTo = (id: number) => events.filter((e) => Number(e.eventId) <= id);
const statusOf = (id: number, closedAs?: string) =>
  Object.fromEntries(outcomesFromHistory(upTo(id), plan, [], closedAs).map((d) => [d.definition, d.status]));

describe('outcomesFromHistory', () => {
  it('counts a definition running until the workflow has seen its last activity close', () => {
    // The first task's commands are written with it (4), so a history never ends between 4 and 8.
    expect(statusOf(8)).toEqual({
      'kyc-on-deposit': 'running',
      'aml-threshold': 'running',
      'affordability-check': 'running',
      'source-of-funds': 'running',
    });
    // affordability-check's activity closed at 10, seen by the task at 15: done. aml-threshold's
    // and source-of-funds' closed at 19 and 20, but the workflow code has not run since: either
    // may still schedule another.
    expect(statusOf(21)).toEqual({
      'kyc-on-deposit': 'running',
      'aml-threshold': 'running',
      'affordability-check': 'completed',
      'source-of-funds': 'running',
    });
    expect(statusOf(24)).toEqual({
      'kyc-on-deposit': 'running',
      'aml-threshold': 'completed',
      'affordability-check': 'completed',
      'source-of-funds': 'completed',
    });
    // Failed at 25, not yet seen by the workflow: it may still catch it.
    expect(statusOf(25)).toMatchObject({ 'kyc-on-deposit': 'running' });
  });

  it('names a definition failed once FailedDefinitions names it, with its activity’s failure', () => {
    const kyc = outcomesFromHistory(upTo(29), plan, []).find((d) => d.definition === 'kyc-on-deposit');
    expect(kyc).toEqual({
      definition: 'kyc-on-deposit',
      status: 'failed',
      error: { message: expect.stringMatching(/^KYC provider answered 4\d\d/), type: 'KycRequestRejected' },
    });
  });

  it('gives the retrying activity’s attempt and last error', () => {
    const pending = [
      {
        activityId: '5',
        activityType: { name: 'requestProviderCheck' },
        attempt: 3,
        lastFailure: {
          message: 'KYC provider answered 503',
          applicationFailureInfo: { type: 'KycProviderUnavailable' },
        },
      },
    ];
    expect(outcomesFromHistory(upTo(24), plan, pending)[0]).toEqual({
      definition: 'kyc-on-deposit',
      status: 'running',
      activity: 'requestProviderCheck',
      attempt: 3,
      lastError: { message: 'KYC provider answered 503', type: 'KycProviderUnavailable' },
    });
  });

  it('in a workflow closed without a result (terminated), names what had not finished as failed by that', () => {
    expect(outcomesFromHistory(upTo(24), plan, [], 'terminated')).toEqual([
      {
        definition: 'kyc-on-deposit',
        status: 'failed',
        error: { message: 'workflow terminated', type: 'terminated' },
      },
      { definition: 'aml-threshold', status: 'completed' },
      { definition: 'affordability-check', status: 'completed' },
      { definition: 'source-of-funds', status: 'completed' },
    ]);
  });
});
