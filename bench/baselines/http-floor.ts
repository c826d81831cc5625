/**
 * Baseline for the HTTP part of Ingest: a bare `node:http` server that does what every
 * POST /events must do at the least (read the body, parse the JSON, answer 201 with a small
 * JSON body) and nothing else: no framework, no auth, no validation, no database, no log.
 * Its CPU per request is the floor under the API's own share on this machine. Runs as its
 * own process; prints {"port":N} once listening, and stops on SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let status = 201;
    let body: unknown;
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { eventType?: unknown };
      body = {
        success: true,
        data: { id: `eev_${randomBytes(8).toString('hex')}`, eventType: parsed.eventType },
      };
    } catch {
      status = 400;
      body = { success: false };
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
