import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createStackOutput, problemLine } from '../../scripts/lib/stack-output';
import { formatStatus, sumMetric, type Sample } from '../../scripts/lib/stack-status';

const pinoLine = (level: number, msg: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ level, time: '2026-11-30T11:00:00.000Z', pid: 1, name: 'api', msg, ...extra });

describe("npm start's terminal (scripts/lib/stack-output.ts)", () => {
  let dir: string;
  let written: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'stack-output-'));
    written = '';
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const output = (o: { verbose?: boolean; tty?: boolean } = {}) =>
    createStackOutput({
      logDir: dir,
      verbose: o.verbose ?? false,
      tty: o.tty ?? false,
      write: (t) => (written += t),
      columns: () => 200,
    });

  it('picks warnings and errors out of pino JSON, Postgres and the Temporal server, and nothing else', () => {
    expect(problemLine('api', pinoLine(30, 'request', { status: 201 }))).toBeUndefined();
    expect(problemLine('api', pinoLine(40, 'rate-limit lease failed', { err: { message: 'x' } }))).toMatch(
      /^\d\d:\d\d:\d\d \[api\] WARN rate-limit lease failed \{"err":\{"message":"x"\}\}$/,
    );
    expect(problemLine('worker', pinoLine(50, 'boom'))).toMatch(/\[worker\] ERROR boom$/);
    expect(problemLine('postgres', '2026-11-30 UTC [9] LOG:  checkpoint complete')).toBeUndefined();
    expect(problemLine('postgres', '2026-11-30 UTC [9] FATAL:  the database system is shutting down')).toBe(
      '[postgres] 2026-11-30 UTC [9] FATAL:  the database system is shutting down',
    );
    expect(
      problemLine(
        'temporal',
        'time=2026-11-30T11:13:25.001 level=WARN msg="Fail to process task" shard-id=1 wf-id=x error="context deadline exceeded" attempt=3',
      ),
    ).toBe('11:13:25 [temporal] WARN Fail to process task (error: context deadline exceeded)');
    expect(problemLine('temporal', 'time=2026-11-30T11:13:25.001 level=INFO msg="started"')).toBeUndefined();
    expect(problemLine('postgres', `ERROR: ${'x'.repeat(500)}`, 80)).toHaveLength(80);
  });

  it('writes every line to <process>.log and only problems and its own messages to the terminal', async () => {
    const out = output();
    out.say('Stack is up.');
    out.line('api', pinoLine(30, 'request'));
    out.line('api', pinoLine(40, 'slow'));
    out.line('postgres', 'LOG:  ready');
    await out.close();
    expect(await readFile(path.join(dir, 'api.log'), 'utf8')).toBe(
      `${pinoLine(30, 'request')}\n${pinoLine(40, 'slow')}\n`,
    );
    expect(await readFile(path.join(dir, 'postgres.log'), 'utf8')).toBe('LOG:  ready\n');
    expect(written.split('\n').filter(Boolean)).toEqual([
      'Stack is up.',
      expect.stringMatching(/\[api\] WARN slow$/),
    ]);
  });

  it('on a pipe, prints the status line when it changes; on a terminal, redraws it in place under new lines', async () => {
    const pipe = output();
    pipe.status('11:00:00  ·  events 5/s');
    pipe.status('11:00:02  ·  events 5/s');
    pipe.status('11:00:04  ·  events 7/s');
    await pipe.close();
    expect(written).toBe('11:00:00  ·  events 5/s\n11:00:04  ·  events 7/s\n');

    written = '';
    const tty = output({ tty: true });
    tty.status('s1');
    tty.line('api', pinoLine(50, 'boom'));
    tty.status('s2');
    await tty.close();
    const clear = '\r\x1b[2K';
    expect(written.replace(/\d\d:\d\d:\d\d/, 'HH:MM:SS')).toBe(
      `${clear}s1${clear}HH:MM:SS [api] ERROR boom\ns1${clear}s2${clear}`,
    );
  });

  it('shows at most five problems of a process per 10 s, then says how many more went to its log', async () => {
    const out = output();
    for (let i = 0; i < 8; i++)
      out.line('temporal', `time=2026-11-30T11:00:0${i}.000 level=WARN msg="w${i}"`);
    await out.close();
    const lines = written.split('\n').filter(Boolean);
    expect(lines).toHaveLength(6);
    expect(lines[4]).toContain('WARN w4');
    expect(lines[5]).toBe(`[temporal] … and 3 more warnings/errors: ${path.join(dir, 'temporal.log')}`);
    expect((await readFile(path.join(dir, 'temporal.log'), 'utf8')).split('\n').filter(Boolean)).toHaveLength(
      8,
    );
  });

  it('--verbose / LOG_LEVEL: every line, prefixed with its process, and no status line', async () => {
    const out = output({ verbose: true });
    out.line('api', pinoLine(30, 'request'));
    out.status('11:00:00  ·  events 5/s');
    await out.close();
    expect(written).toBe(`[api] ${pinoLine(30, 'request')}\n`);
  });
});

describe('the status line (scripts/lib/stack-status.ts)', () => {
  it('sums a metric over its label sets, or over those that match', () => {
    const text = [
      '# TYPE x counter',
      'events_recorded_total{event_type="bet"} 10',
      'events_recorded_total{event_type="deposit"} 5',
      'events_recorded_total_other 99',
      'workflow_completions_total{workflow_type="processEvent",outcome="completed"} 4',
      'workflow_completions_total{workflow_type="processEvent",outcome="failed"} 1',
      'fanout_backlog 7',
    ].join('\n');
    expect(sumMetric(text, 'events_recorded_total')).toBe(15);
    expect(sumMetric(text, 'workflow_completions_total', { outcome: 'failed' })).toBe(1);
    expect(sumMetric(text, 'fanout_backlog')).toBe(7);
    expect(sumMetric(text, 'missing')).toBe(0);
  });

  it('reports rates between two scrapes, the backlog, and failures since the last line and since start', () => {
    const at = Date.parse('2026-11-30T11:00:00Z');
    const prev: Sample = {
      at,
      api: { events: 100, backlog: 3, started: 50, startFailures: 1 },
      worker: { completed: 40, failedWorkflows: 0, failedActivities: 2 },
    };
    const cur: Sample = {
      at: at + 2000,
      api: { events: 300, backlog: 12, started: 51, startFailures: 1 },
      worker: { completed: 40, failedWorkflows: 1, failedActivities: 2 },
    };
    const line = formatStatus(prev, cur);
    expect(line).toContain('events 100/s  backlog 12  fan-outs started 0.5/s');
    expect(line).toContain('workflows completed 0/s');
    expect(line).toContain('failures 1 (4 since start)');
    expect(formatStatus(prev, { at: at + 2000 })).toContain('API metrics unavailable');
  });
});
