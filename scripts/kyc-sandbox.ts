import { z } from 'zod';
import { startKycSandbox } from '../activities/kyc/sandbox-server';

/**
 * The sandbox KYC provider as a process: the local stack (`npm start`) and docker-compose
 * (`node dist/scripts/kyc-sandbox.js`) run it. Outcomes by applicant prefix: see
 * activities/kyc/sandbox-server.ts. Not a production service, so it reads its three
 * settings here rather than through core/config.ts (which requires DATABASE_URL and the rest).
 */
const settings = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(4010),
    HOST: z.string().default('0.0.0.0'),
    KYC_SANDBOX_SLOW_MS: z.coerce.number().int().min(0).default(30_000),
    /** The asynchronous API's delay before a result's webhook (a few seconds, as a provider's review). */
    KYC_SANDBOX_WEBHOOK_DELAY_MS: z.coerce.number().int().min(0).default(3000),
    /** Sumsub's retry schedule (5 min, 1 h, 5 h, 18 h) times this. */
    KYC_SANDBOX_RETRY_SCALE: z.coerce
      .number()
      .positive()
      .max(1)
      .default(1 / 600),
  })
  .parse(process.env);

async function main(): Promise<void> {
  const sandbox = await startKycSandbox({
    port: settings.PORT,
    host: settings.HOST,
    slowMs: settings.KYC_SANDBOX_SLOW_MS,
    delivery: { delayMs: settings.KYC_SANDBOX_WEBHOOK_DELAY_MS },
    retryScale: settings.KYC_SANDBOX_RETRY_SCALE,
    log: (line) => console.log(JSON.stringify({ time: new Date().toISOString(), ...line })),
  });
  const stop = () => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Announced only now: a supervisor that stops us as soon as it reads this gets a clean stop.
  console.log(JSON.stringify({ msg: `KYC sandbox listening on ${sandbox.url}`, port: settings.PORT }));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
