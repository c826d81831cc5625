import type { Context } from 'koa';
import { apiError } from '../../core/errors';

/**
 * Reads a JSON request body with a byte limit. Hand-written (a few lines) so that every
 * failure maps onto our closed list of codes: 415 for a non-JSON content type, 413 past
 * the limit (checked while streaming, not after buffering everything), 400 for bad JSON.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readJsonBody(ctx: Context, limitBytes: number): Promise<unknown> {
  const length = Number(ctx.get('content-length') || NaN);
  const hasBody = (Number.isFinite(length) && length > 0) || Boolean(ctx.get('transfer-encoding'));
  if (!hasBody) return undefined;
  if (!ctx.is('application/json', 'application/*+json')) {
    throw apiError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' });
  }
  const raw = await readRawBody(ctx, limitBytes);
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw apiError({ code: 'VALIDATION_FAILED', message: 'Request body is not valid UTF-8' });
  }
  try {
    return text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    throw apiError({ code: 'VALIDATION_FAILED', message: 'Request body is not valid JSON' });
  }
}

function tooLarge(limit: number) {
  return apiError({ code: 'PAYLOAD_TOO_LARGE', message: `Request body exceeds ${limit} bytes` });
}

/**
 * Reads a body as bytes, up to `limitBytes` (413 beyond, checked while streaming): for routes
 * that must see the exact bytes (a signature over the raw body) before anything parses them.
 */
export async function readRawBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  const length = Number(ctx.get('content-length') || NaN);
  if (length > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
