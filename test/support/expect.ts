import type { Res } from './http';

/**
 * Asserts the error envelope: status, code, a human message, and nothing else beyond the
 * optional `details` (never stack traces or other internals).
 */
export function expectError(res: Res, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status,
    body: { success: false, error: expect.objectContaining({ code, message: expect.any(String) }) },
  });
  const extra = Object.keys(res.body.error).filter(
    (k) => !['code', 'message', 'details', 'resetAt'].includes(k),
  );
  expect(extra).toEqual([]);
}

/** ISO-8601 UTC with milliseconds, as every timestamp of the API. */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const EVENT_ID = /^eev_[0-9a-f]{16}$/;
export const JOB_ID = /^job_[0-9a-f]{16}$/;
