import { sleep } from './ports';

/**
 * Polls until `url` answers 200. `givenUp` lets the caller stop early, e.g. when the
 * process that should serve the URL has already exited.
 */
export async function waitForHttpOk(
  url: string,
  opts: { timeoutMs: number; givenUp?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (opts.givenUp?.()) throw new Error(`gave up waiting for ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(300);
  }
  throw new Error(`${url} did not answer 200 within ${opts.timeoutMs / 1000}s (last: ${last})`);
}
