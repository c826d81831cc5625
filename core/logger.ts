import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { Logger } from 'pino';

/** Per-request (or per-activity) context whose fields are stamped on every log line. */
export const logContext = new AsyncLocalStorage<Record<string, string>>();

/** `destination`: where lines go (stdout unless given; tests capture them to scan). */
export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: () => logContext.getStore() ?? {},
      // Belt and braces: never log credentials even if a header object slips into a line.
      redact: {
        paths: ['authorization', '*.authorization', 'headers.authorization', 'apiKey', '*.apiKey'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
