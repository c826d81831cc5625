import type { Client } from '@temporalio/client';

/** Start times of the events' workflows matching a visibility query, by workflow ID. */
export async function startTimes(client: Client, query: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const wf of client.workflow.list({ query, pageSize: 1000 })) {
    if (wf.type === 'processEvent') out.set(wf.workflowId, wf.startTime.getTime());
  }
  return out;
}

/** Waits until visibility (eventually consistent) reports `expected` workflows for the query. */
export async function waitForCount(
  client: Client,
  query: string,
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  while (Date.now() < deadline) {
    n = (await client.workflow.count(query)).count;
    if (n >= expected) return n;
    await new Promise((r) => setTimeout(r, 250));
  }
  return n;
}
