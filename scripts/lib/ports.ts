import { readFileSync } from 'node:fs';
import net from 'node:net';

const LOWEST = 20_000;
const handedOut = new Set<number>();

/**
 * A port that is free now, for a server the caller is about to start. It is drawn at random
 * from below the kernel's ephemeral range: a port that bind(0) handed out and we released is
 * soon handed to the next process that asks for "any port" (a Temporal dev server picks
 * several), so it could be gone before our server binds it. Ports outside that range are
 * never given out that way.
 */
export async function freePort(): Promise<number> {
  const highest = ephemeralRangeStart() - 1;
  for (let attempt = 0; highest - LOWEST > 1000 && attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // before the await, so concurrent callers never get the same port
    if (await canBind(port)) return port;
    handedOut.delete(port);
  }
  return kernelPort();
}

function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(low) || 32_768;
  } catch {
    return 32_768; // not Linux: the IANA range starts at 49152, so this stays below it too
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    // 0.0.0.0 conflicts with a listener on any IPv4 address, loopback included.
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the allocated port'));
      });
    });
  });
}

/** Resolves true if something accepts TCP connections on host:port right now. */
export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
