import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake provider API on loopback: records each request, answers with `answer`. */
export async function fakeApi(
  answer: (req: {
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: string;
  }) => [number, unknown] | [number, unknown, number],
) {
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(r);
      // An optional third element delays the answer (a slow provider API).
      const [status, body, delayMs = 0] = answer(r);
      setTimeout(
        () => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body)),
        delayMs,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
