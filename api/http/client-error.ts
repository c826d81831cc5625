import type { Duplex } from 'node:stream';

/**
 * Requests Node's HTTP parser refuses before Koa sees them (a CR, LF or NUL inside a header
 * value, a malformed request line, oversized headers). Node's default answer is a bare
 * `400` with no body; we send the same status with our error envelope, so every refusal
 * reads alike. The connection is closed: after a parse error its framing cannot be trusted.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (err.code === 'ECONNRESET' && socket.destroyed)) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({
    success: false,
    error: { code: 'VALIDATION_FAILED', message: 'Malformed HTTP request: bad request line or headers' },
  });
  socket.end(
    'HTTP/1.1 400 Bad Request\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'X-Content-Type-Options: nosniff\r\n' +
      'Cache-Control: no-store\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}
