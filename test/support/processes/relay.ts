/**
 * A fan-out relay alone in a Node process, as an API process runs it, for a test to kill
 * while it holds leased rows (test/core/fanout-recovery.test.ts).
 *
 * argv: <databaseUrl> <temporalAddress> <taskQueue> <leaseSeconds>
 */
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { createPool } from '../../../core/db/pool';
import { FanoutDispatcher } from '../../../core/fanout/dispatcher';

const [databaseUrl, temporalAddress, taskQueue, leaseSeconds] = process.argv.slice(2);
if (!databaseUrl || !temporalAddress || !taskQueue || !leaseSeconds) {
  process.stderr.write('usage: relay.ts <databaseUrl> <temporalAddress> <taskQueue> <leaseSeconds>\n');
  process.exit(2);
}
const dispatcher = new FanoutDispatcher({
  pool: createPool(databaseUrl, 4),
  client: new Client({ connection: Connection.lazy({ address: temporalAddress }) }),
  taskQueue,
  log: pino({ level: 'silent' }),
  relayIntervalMs: 100,
  relayLeaseSeconds: Number(leaseSeconds),
});
dispatcher.startRelay();
process.stdout.write('relay running\n');
