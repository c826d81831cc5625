import { loadConfig } from '../core/config';
import { runMigrations } from '../core/db/migrate';

async function main(): Promise<void> {
  const { DATABASE_URL } = loadConfig();
  const { applied } = await runMigrations(DATABASE_URL);
  console.log(applied.length ? `Applied migrations: ${applied.join(', ')}` : 'Database is up to date.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
