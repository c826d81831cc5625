/**
 * Baseline for Fan-out start: a minimal loop of `client.workflow.start` (the same processEvent
 * workflow, with an empty plan, options and search attributes the dispatcher uses) against the same Temporal
 * server, `concurrency` starts in flight at a time. Runs as its own process; prints JSON.
 * Usage: temporal-start.ts <address> <namespace> <taskQueue> <count> <concurrency> <operatorId>
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowIdReusePolicy } from '@temporalio/common';
import * as SA from '../../workflows/search-attributes';

async function main(): Promise<void> {
  const [address, namespace, taskQueue, count, concurrency, operatorId] = process.argv.slice(2);
  const connection = await Connection.connect({ address: address! });
  const client = new Client({ connection, namespace: namespace! });
  let next = 0;
  const latencies: number[] = [];
  const total = Number(count);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Number(concurrency) }, async () => {
      while (next < total) {
        next++;
        const eventId = `eev_${randomBytes(8).toString('hex')}`;
        const externalId = 'baseline-start';
        const t = process.hrtime.bigint();
        await client.workflow.start('processEvent', {
          taskQueue: taskQueue!,
          workflowId: `entity_event.game_activity:${eventId}`,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          args: [
            {
              internalEvent: 'entity_event.game_activity',
              operatorId: operatorId!,
              externalId,
              eventId,
              eventType: 'game_activity',
              data: { game_id: 'slot_starburst', bet_amount: 2.5, currency: 'GBP', round_id: 'r_1' },
              occurredAt: new Date().toISOString(),
              definitions: [],
            },
          ],
          typedSearchAttributes: new TypedSearchAttributes([
            { key: SA.OperatorId, value: operatorId! },
            { key: SA.EntityExternalId, value: externalId },
            { key: SA.EventType, value: 'game_activity' },
            { key: SA.InternalEvent, value: 'entity_event.game_activity' },
          ]),
          staticSummary: `game_activity event ${eventId} for entity ${externalId} (operator ${operatorId})`,
        });
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const durationS = Number(process.hrtime.bigint() - started) / 1e9;
  await connection.close();
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
  console.log(
    JSON.stringify({ count: total, durationS, rate: total / durationS, p50: at(0.5), p99: at(0.99) }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
