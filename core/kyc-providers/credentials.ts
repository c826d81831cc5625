import { z } from 'zod';

/**
 * What each provider needs from the operator. Credentials are secret (sealed at rest, never
 * shown again); settings are not.
 * - Sumsub: an App Token and its Secret Key (requests are signed with them); the verification
 *   level the applicant goes through.
 * - Onfido: an API token; the reports a check runs.
 * - sandbox: the key our sandbox provider checks (any non-empty string it was started with).
 */
export const SumsubCredentials = z
  .object({ appToken: z.string().min(1).max(500), secretKey: z.string().min(1).max(500) })
  .strict();
export const OnfidoCredentials = z.object({ apiToken: z.string().min(1).max(500) }).strict();
export const SandboxCredentials = z.object({ apiKey: z.string().min(1).max(500) }).strict();

export const SumsubSettings = z
  .object({ levelName: z.string().min(1).max(200).default('basic-kyc-level') })
  .strict();
export const OnfidoSettings = z
  .object({
    reportNames: z
      .array(z.string().min(1).max(100))
      .min(1)
      .max(10)
      .default(['document', 'facial_similarity_photo']),
  })
  .strict();
export const SandboxSettings = z.object({}).strict();

export const CREDENTIALS = {
  sumsub: SumsubCredentials,
  onfido: OnfidoCredentials,
  sandbox: SandboxCredentials,
};
