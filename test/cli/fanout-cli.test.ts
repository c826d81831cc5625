import { startFanout } from '../../core/fanout/temporal-start';
import type { RedriveProgress } from '../../workflows/redrive-types';
import type { FanoutResult } from '../../workflows/types';
import { runCli } from '../support/cli';
import { testEnv } from '../support/env';
import { newOperator, newPlayer } from '../support/operators';
import {
  definitionRun,
  operatorWithWebhook,
  recordEvent,
  startWorkflowHarness,
  waitForResult,
  type WorkflowHarness,
} from '../support/workflow-harness';

jest.setTimeout(180_000);

/**
 * `npm run cli -- fanout …` as a separate process against the harness's database, Temporal and
 * task queue (served by the harness's in-process worker): the re-drive is a real workflow,
 * its children real `processEvent` runs calling the sandbox KYC provider.
 */
describe('fanout redrive and backfill (npm run cli -- fanout …)', () => {
  let h: WorkflowHarness;
  let op: Awaited<ReturnType<typeof operatorWithWebhook>>;
  let since: string;
  const failedEvents: Array<{ id: string; fanoutId: string; player: string }> = [];

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(['fanout', ...args], {
      DATABASE_URL: h.stack.db.url,
      TEMPORAL_ADDRESS: testEnv().temporalAddress,
      TEMPORAL_NAMESPACE: testEnv().namespace,
      TEMPORAL_TASK_QUEUE: h.stack.taskQueue,
      ...env,
    });
  const kycRange = () => ['--definition', 'kyc-on-deposit', '--operator', op.operatorId, '--since', since];
  const successfulChecks = (player: string) =>
    h.kyc.calls.filter((c) => c.applicantId === player && c.status === 201);

  beforeAll(async () => {
    // The worker starts with a key the provider refuses (401, not retried): every KYC check fails,
    // as after an outage longer than the retry window.
    h = await startWorkflowHarness({
      kyc: { apiKey: 'right-key' },
      config: { KYC_PROVIDER_API_KEY: 'wrong-key' },
    });
    // Test mode: without a provider connection its KYC goes to the local sandbox (live: not configured).
    op = await operatorWithWebhook(h, [], { mode: 'test' });
    since = new Date(Date.now() - 1000).toISOString();
    for (const player of ['rd_a', 'rd_b', 'rd_c']) {
      await newPlayer(op.client, player);
      const ev = await recordEvent(op.client, player, 'transaction', {
        type: 'deposit',
        amount: 50,
        currency: 'GBP',
      });
      failedEvents.push({ ...ev, player });
    }
    await newPlayer(op.client, 'rd_ok');
    // A withdrawal: kyc-on-deposit's condition is false, so it is not planned and cannot fail.
    await recordEvent(op.client, 'rd_ok', 'transaction', { type: 'withdrawal', amount: 5, currency: 'GBP' });
    for (const ev of failedEvents) {
      expect(await definitionRun(h.stack, ev.fanoutId, 'kyc-on-deposit')).toMatchObject({
        status: 'failed',
      });
    }
    // The key is fixed and the worker restarted: a re-drive can now succeed.
    await h.stack.stopWorker();
    await h.stack.startWorker({ config: { ...h.stack.config, KYC_PROVIDER_API_KEY: 'right-key' } });
    // A deposit after the fix: kyc-on-deposit planned and completed, so only a plain re-drive takes it.
    await newPlayer(op.client, 'rd_good');
    const good = await recordEvent(op.client, 'rd_good', 'transaction', {
      type: 'deposit',
      amount: 50,
      currency: 'GBP',
    });
    expect(await definitionRun(h.stack, good.fanoutId, 'kyc-on-deposit')).toMatchObject({
      status: 'completed',
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('--dry-run prints how many events failed the definition and starts nothing', async () => {
    const run = await cli(['redrive', ...kycRange(), '--failed-only', '--dry-run']);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/redrive-failed of kyc-on-deposit will run 3 events/);
    expect(run.stdout).not.toMatch(/Started/);
    expect(failedEvents.flatMap((e) => successfulChecks(e.player))).toEqual([]);
  });

  it('re-drives every failed check exactly once, each as its own workflow, printing progress; the same id again runs nothing', async () => {
    const run = await cli(['redrive', ...kycRange(), '--failed-only', '--id', 'rd_once', '--poll-ms', '200']);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/will run 3 events/);
    expect(run.stdout).toMatch(/Started redrive:rd_once/);
    expect(run.stdout).toMatch(/3\/3 100%: 3 completed, 0 failed \(\d+ events read\), done/);

    for (const ev of failedEvents) {
      const childId = `redrive:rd_once:${ev.id}`;
      const result = await waitForResult<FanoutResult>(h.stack, childId);
      expect(result.runs).toEqual([
        expect.objectContaining({ definition: 'kyc-on-deposit', status: 'completed' }),
      ]);
      // One check at the provider per event, keyed by the re-run's own workflow ID.
      expect(successfulChecks(ev.player).map((c) => c.idempotencyKey)).toEqual([childId]);
    }
    const progress = await h.stack.temporal.workflow.getHandle('redrive:rd_once').result();
    expect(progress).toMatchObject({ total: 3, selected: 3, completed: 3, failed: 0, done: true });

    const again = await cli(['redrive', ...kycRange(), '--failed-only', '--id', 'rd_once']);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toMatch(/redrive:rd_once already exists; attached to it/);
    expect(failedEvents.flatMap((e) => successfulChecks(e.player))).toHaveLength(3);
  });

  it('--detach then --resume <id>: the resumed CLI follows the same workflow to its end', async () => {
    const started = await cli([
      'redrive',
      ...kycRange(),
      '--id',
      'rd_resume',
      '--detach',
      '--page-size',
      '1',
      '--rate',
      '0.25',
    ]);
    expect(started).toMatchObject({ code: 0 });
    // Without --failed-only: every event whose plan holds kyc-on-deposit (the four deposits).
    expect(started.stdout).toMatch(/redrive of kyc-on-deposit will run 4 events/);

    const resumed = await cli(['redrive', '--resume', 'rd_resume', '--poll-ms', '200']);
    expect(resumed).toMatchObject({ code: 0 });
    expect(resumed.stdout).toMatch(/Attached to redrive:rd_resume/);
    expect(resumed.stdout).toMatch(/4\/4 100%: 4 completed, 0 failed \(\d+ events read\), done/);
    // Paced at one run per 4 s (~12 s in all, longer than a CLI takes to start and attach
    // on a loaded machine), the progress is seen before the end.
    expect(resumed.stdout).toMatch(/^[123]\/4 /m);
    expect(successfulChecks('rd_good').map((c) => c.idempotencyKey)).toEqual([
      expect.stringMatching(/^entity_event\.transaction:/),
      expect.stringMatching(/^redrive:rd_resume:/),
    ]);
  });

  it('refuses a second re-drive of the same definition over an overlapping range, naming the first', async () => {
    const first = await cli([
      'redrive',
      ...kycRange(),
      '--id',
      'rd_slow',
      '--detach',
      '--page-size',
      '1',
      // Slow enough to outlast the second CLI's start on a loaded machine (a rate of 1/s let
      // the first finish first once, under load ~15, and the second was then allowed).
      '--rate',
      '0.25',
    ]);
    expect(first).toMatchObject({ code: 0 });
    const second = await cli(['redrive', ...kycRange(), '--dry-run']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running: redrive:rd_slow/);
    await h.stack.temporal.workflow.getHandle('redrive:rd_slow').result();
  });

  it('of two re-drives of one definition and range started at once, starts one and refuses the other naming it; another operator’s runs alongside', async () => {
    // More deposits in the range: paced at one run a second, the winner is still running when the
    // loser, however late its process gets there, checks.
    for (const player of ['race_1', 'race_2', 'race_3', 'race_4']) {
      await newPlayer(op.client, player);
      await recordEvent(op.client, player, 'transaction', { type: 'deposit', amount: 50, currency: 'GBP' });
    }
    const other = await operatorWithWebhook(h, [], { mode: 'test' });
    await newPlayer(other.client, 'race_other');
    const ev = await recordEvent(other.client, 'race_other', 'transaction', {
      type: 'deposit',
      amount: 50,
      currency: 'GBP',
    });
    await waitForResult(h.stack, ev.fanoutId);
    const slow = ['--detach', '--page-size', '1', '--rate', '1'];
    const otherRange = ['--definition', 'kyc-on-deposit', '--operator', other.operatorId, '--since', since];

    const [a, b, alongside] = await Promise.all([
      cli(['redrive', ...kycRange(), '--id', 'race_a', ...slow]),
      cli(['redrive', ...kycRange(), '--id', 'race_b', ...slow]),
      cli(['redrive', ...otherRange, '--id', 'race_other', ...slow]),
    ]);
    const started = [a, b].filter((r) => r.code === 0);
    const refused = [a, b].filter((r) => r.code !== 0);
    expect({ started: started.length, refused: refused.length }).toEqual({ started: 1, refused: 1 });
    const winner = /Started (redrive:race_[ab])/.exec(started[0]!.stdout)?.[1];
    const loser = winner === 'redrive:race_a' ? 'redrive:race_b' : 'redrive:race_a';
    expect(refused[0]!.stderr).toContain(
      `A redrive of kyc-on-deposit over this range is already running: ${winner}`,
    );
    await expect(h.stack.temporal.workflow.getHandle(loser).describe()).rejects.toThrow(/not found/i);
    // Another operator's events: no overlap, so it started at the same moment.
    expect(alongside).toMatchObject({ code: 0 });
    expect(alongside.stdout).toMatch(/Started redrive:race_other/);

    // Its own id again is not refused by itself: it attaches.
    const same = await cli(['redrive', ...kycRange(), '--id', winner!.replace('redrive:', ''), '--detach']);
    expect(same).toMatchObject({ code: 0 });
    expect(same.stdout).toContain(`${winner} already exists; attached to it`);

    // Once the first has finished, the same range may run again.
    await h.stack.temporal.workflow.getHandle(winner!).result();
    const again = await cli(['redrive', ...kycRange(), '--id', 'race_again', '--detach']);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toMatch(/Started redrive:race_again/);
    await h.stack.temporal.workflow.getHandle('redrive:race_again').result();
    await h.stack.temporal.workflow.getHandle('redrive:race_other').result();
  });

  it.each([
    [
      ['--definition', 'no-such-thing', '--since', '1h'],
      /Unknown definition "no-such-thing"; known: .*kyc-on-deposit/,
    ],
    [
      ['--definition', 'kyc-on-deposit', '--since', '1h', '--until', '2h'],
      /--since .* must be before --until/,
    ],
    [['--definition', 'kyc-on-deposit', '--since', 'yesterday-ish'], /--since "yesterday-ish" is neither/],
    [
      ['--definition', 'kyc-on-deposit', '--since', '1h', '--operator', 'op_missing'],
      /No operator op_missing/,
    ],
  ])('rejects bad input %j with a clear message and starts nothing', async (args, message) => {
    const run = await cli(['redrive', ...args]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).not.toMatch(/Started/);
  });

  it('says so when Temporal is unreachable, and starts nothing', async () => {
    const run = await cli(['redrive', ...kycRange(), '--dry-run'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Temporal is unreachable at 127\.0\.0\.1:1/);
  });

  it('backfills a definition over events whose plan lacked it, skipping events it already ran for', async () => {
    // Two deposits "recorded before aml-threshold existed": their workflows ran an empty plan.
    const old: string[] = [];
    await newPlayer(op.client, 'bf_old');
    for (const amount of [10, 5000]) {
      const { rows } = await h.stack.db.pool.query<{ id: string; created_at: Date }>(
        `insert into events (id, operator_id, external_id, event_type, data)
         values ('eev_bf' || substr(md5(random()::text), 1, 12), $1, 'bf_old', 'transaction', $2)
         returning id, created_at`,
        [op.operatorId, { type: 'deposit', amount, currency: 'EUR' }],
      );
      const id = rows[0]!.id;
      old.push(id);
      await startFanout(h.stack.temporal, h.stack.taskQueue, {
        workflow_id: `entity_event.transaction:${id}`,
        payload: {
          internalEvent: 'entity_event.transaction',
          operatorId: op.operatorId,
          externalId: 'bf_old',
          eventId: id,
          eventType: 'transaction',
          data: { type: 'deposit', amount, currency: 'EUR' },
          occurredAt: rows[0]!.created_at.toISOString(),
        },
        search_attributes: { OperatorId: [op.operatorId] },
        definitions: [],
        attempts: 0,
      });
      await waitForResult(h.stack, `entity_event.transaction:${id}`);
    }

    const dry = await cli([
      'backfill',
      '--definition',
      'aml-threshold',
      '--operator',
      op.operatorId,
      '--since',
      since,
      '--dry-run',
    ]);
    expect(dry).toMatchObject({ code: 0 });
    // The 5 events recorded through the API planned aml-threshold already: only the 2 old ones.
    expect(dry.stdout).toMatch(/backfill of aml-threshold will run 2 events/);

    const run = await cli([
      'backfill',
      '--definition',
      'aml-threshold',
      '--operator',
      op.operatorId,
      '--since',
      since,
      '--id',
      'bf_1',
      '--poll-ms',
      '200',
    ]);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/2\/2 100%: 2 completed, 0 failed/);
    const results = await Promise.all(
      old.map((id) => waitForResult<FanoutResult>(h.stack, `redrive:bf_1:${id}`)),
    );
    expect(results.map((r) => r.runs[0]?.result)).toEqual([
      expect.objectContaining({ flagged: false }),
      expect.objectContaining({ flagged: true }),
    ]);
    const progress = (await h.stack.temporal.workflow.getHandle('redrive:bf_1').result()) as RedriveProgress;
    expect(progress).toMatchObject({ selected: 2, completed: 2, done: true });
    // No re-run of any event that was recorded through the API.
    for (const ev of failedEvents) {
      await expect(h.stack.temporal.workflow.getHandle(`redrive:bf_1:${ev.id}`).describe()).rejects.toThrow();
    }
    // The same backfill again finds nothing: the definition already ran for both (in bf_1).
    const again = await cli([
      'backfill',
      '--definition',
      'aml-threshold',
      '--operator',
      op.operatorId,
      '--since',
      since,
      '--dry-run',
    ]);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toMatch(/backfill of aml-threshold will run 0 events/);
  });

  it('refuses to backfill or re-drive a definition that depends on the webhook subscription', async () => {
    const run = await cli(['backfill', '--definition', 'operator-webhook', '--since', '1h', '--dry-run']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot be backfilled/);
    // Nor re-driven: recover re-delivers its failed messages under their own webhook-id.
    const redrive = await cli(['redrive', '--definition', 'operator-webhook', '--since', '1h', '--dry-run']);
    expect(redrive.code).toBe(1);
    expect(redrive.stderr).toMatch(/only delivers webhooks: bring failed messages back with .*recover/);
  });

  it('refuses a range that reaches into events retention has archived, and starts nothing', async () => {
    const other = await newOperator(h.stack.db.pool, h.stack.baseUrl);
    await h.stack.db.pool.query(
      `insert into events_archive (id, operator_id, external_id, event_type, data, created_at)
       values ('eev_archived0001', $1, 'p1', 'transaction', '{"type":"deposit","amount":1,"currency":"EUR"}', now() - interval '40 days')`,
      [other.operatorId],
    );
    const args = ['--definition', 'aml-threshold', '--operator', other.operatorId, '--dry-run'];
    const run = await cli(['redrive', ...args, '--since', '60d']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/moved to the archive by retention.*start --since after that time/);
    // A range after the archived events is accepted.
    expect(await cli(['redrive', ...args, '--since', '30d'])).toMatchObject({ code: 0 });
  });
});
