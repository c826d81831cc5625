import { loadConfig } from '../core/config';
import { runMigrations } from '../core/db/migrate';

/**
 * In docker-compose this may start while Postgres still refuses connections (its first start
 * on a fresh volume restarts the server once): wait for it rather than fail the stack.
 */
const CONNECT_TIMEOUT_MS = 60_000;

async function main(): Promise<void> {
  const { DATABASE_URL } = loadConfig();
  const { applied } = await runMigrations(DATABASE_URL, {
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    onRetry: (reason) => console.log(`Postgres not accepting connections yet (${reason}); retrying`),
  });
  console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database is up to date.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
