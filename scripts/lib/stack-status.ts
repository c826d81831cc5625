/**
 * The dev stack's status line, from the API's and the worker's Prometheus /metrics: rates
 * from the difference between two scrapes, the backlog as it stands.
 */

export interface Sample {
  at: number;
  /** Undefined: that process's /metrics did not answer. */
  api?: { events: number; backlog: number; started: number; startFailures: number };
  worker?: { completed: number; failedWorkflows: number; failedActivities: number };
}

/** Sums the samples of `name` (all label sets, or those matching `labels`) in Prometheus text. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const labelText = line[name.length] === '{' ? line.slice(name.length + 1, line.indexOf('}')) : '';
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

async function scrape(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1500) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

export async function takeSample(apiMetricsUrl: string, workerMetricsUrl: string): Promise<Sample> {
  const [api, worker] = await Promise.all([scrape(apiMetricsUrl), scrape(workerMetricsUrl)]);
  return {
    at: Date.now(),
    api:
      api === undefined
        ? undefined
        : {
            events: sumMetric(api, 'events_recorded_total'),
            backlog: sumMetric(api, 'fanout_backlog'),
            started: sumMetric(api, 'fanout_workflows_started_total'),
            startFailures: sumMetric(api, 'fanout_workflow_start_failures_total'),
          },
    worker:
      worker === undefined
        ? undefined
        : {
            completed: sumMetric(worker, 'workflow_completions_total', { outcome: 'completed' }),
            failedWorkflows: sumMetric(worker, 'workflow_completions_total', { outcome: 'failed' }),
            failedActivities: sumMetric(worker, 'activity_executions_total', { outcome: 'failed' }),
          },
  };
}

/** Whole numbers, but a trickle (a slow Temporal) still shows: 0.4/s, not 0/s. */
const perSecond = (r: number) => `${r >= 10 || r === 0 ? Math.round(r) : r.toFixed(1)}/s`;

const failures = (s: Sample) =>
  (s.api?.startFailures ?? 0) + (s.worker?.failedWorkflows ?? 0) + (s.worker?.failedActivities ?? 0);

/**
 * One line: events recorded per second, fan-out backlog, fan-outs started and workflows
 * completed per second, failures since the last line and since start.
 */
export function formatStatus(prev: Sample, cur: Sample): string {
  const seconds = Math.max(0.001, (cur.at - prev.at) / 1000);
  const rate = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? '?' : perSecond(Math.max(0, b - a) / seconds);
  const time = new Date(cur.at).toTimeString().slice(0, 8);
  const parts = [
    `${time}`,
    cur.api
      ? `events ${rate(prev.api?.events, cur.api.events)}  backlog ${cur.api.backlog}  fan-outs started ${rate(prev.api?.started, cur.api.started)}`
      : 'API metrics unavailable',
    cur.worker
      ? `workflows completed ${rate(prev.worker?.completed, cur.worker.completed)}`
      : 'worker metrics unavailable',
    `failures ${Math.max(0, failures(cur) - failures(prev))} (${failures(cur)} since start)`,
  ];
  return parts.join('  ·  ');
}
