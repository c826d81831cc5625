import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface StallProxy {
  /** host:port to give a client instead of the real server's. */
  address: string;
  /** From now on no byte passes either way: the server, as the client sees it, has stopped answering. */
  stall(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a real server (Temporal) that can go silent: connections stay open,
 * requests are swallowed, nothing is ever answered. Bytes are dropped, not delayed, so a
 * request sent while stalled never reaches the server.
 */
export async function startStallProxy(target: string): Promise<StallProxy> {
  const [host = '127.0.0.1', port = ''] = target.split(/:(?=\d+$)/);
  let stalled = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), host);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d) => {
      if (!stalled) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!stalled) client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stall: () => {
      stalled = true;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A server that accepts connections and never says a word: every call to it hangs. */
export async function startSilentServer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
