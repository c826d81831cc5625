/**
 * Baseline for Ingest: the same single-row insert into the same `events` table, straight
 * against Postgres, from `connections` clients each in a tight loop, for `seconds`.
 * Runs as its own process (like autocannon for the API) and prints one JSON line.
 * Usage: pg-insert.ts <databaseUrl> <connections> <seconds> <operatorId> <externalId>
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

async function main(): Promise<void> {
  const [url, connections, seconds, operatorId, externalId] = process.argv.slice(2);
  const clients = await Promise.all(
    Array.from({ length: Number(connections) }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  const data = { game_id: 'slot_starburst', bet_amount: 2.5, currency: 'GBP', round_id: 'r_1' };
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  const deadline = Date.now() + Number(seconds) * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (Date.now() < deadline) {
        const t = process.hrtime.bigint();
        await c.query(
          'insert into events (id, operator_id, external_id, event_type, data) values ($1, $2, $3, $4, $5)',
          [`eev_${randomBytes(8).toString('hex')}`, operatorId, externalId, 'game_activity', data],
        );
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const durationS = Number(process.hrtime.bigint() - started) / 1e9;
  await Promise.all(clients.map((c) => c.end()));
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
  console.log(
    JSON.stringify({
      count: latencies.length,
      durationS,
      rps: latencies.length / durationS,
      p50: at(0.5),
      p99: at(0.99),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
