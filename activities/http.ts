/** What came back from one HTTP request; the body read as text (small JSON documents only). */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Thrown when no HTTP answer arrived: refused, reset, DNS, or the timeout. Always transient
 * from the caller's point of view, so it is an ordinary (retryable) error.
 */
export class HttpUnreachableError extends Error {
  override name = 'HttpUnreachableError';
}

/**
 * One request with a hard timeout covering connect, headers and body; redirects are answers, not
 * followed. No retries here: the caller's retry policy (Temporal's, or the webhook workflow's)
 * owns them.
 */
async function send(
  fetchFn: typeof fetch,
  method: 'GET' | 'POST',
  url: string,
  o: { body?: string; headers: Record<string, string>; timeoutMs: number },
): Promise<HttpAnswer> {
  try {
    const res = await fetchFn(url, {
      method,
      headers: o.headers,
      body: o.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason =
      e.name === 'TimeoutError'
        ? `no answer within ${o.timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new HttpUnreachableError(`${method} ${new URL(url).origin} failed: ${reason}`, { cause: err });
  }
}

/** POSTs a JSON body (a webhook: the answer's body is read as text, whatever its type). */
export function postJson(
  fetchFn: typeof fetch,
  url: string,
  o: { body: string; headers: Record<string, string>; timeoutMs: number },
): Promise<HttpAnswer> {
  return send(fetchFn, 'POST', url, { ...o, headers: { 'Content-Type': 'application/json', ...o.headers } });
}

/** Any method, JSON in and out, with the same timeout and error rules as postJson. */
export function requestJson(
  fetchFn: typeof fetch,
  method: 'GET' | 'POST',
  url: string,
  o: { body?: string; headers: Record<string, string>; timeoutMs: number },
): Promise<HttpAnswer> {
  const headers = {
    Accept: 'application/json',
    ...(o.body === undefined ? {} : { 'Content-Type': 'application/json' }),
    ...o.headers,
  };
  return send(fetchFn, method, url, { ...o, headers });
}
