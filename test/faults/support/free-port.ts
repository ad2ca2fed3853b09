import net from 'node:net';

/**
 * Ports the OS hands out for outgoing connections (Linux: 32768-60999). A port chosen there can
 * be taken as the local end of some client socket before the service binds it (EADDRINUSE), so
 * the suite picks below that range.
 */
const RANGE = { from: 20_000, to: 32_000 };
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    // No host: the services listen on every address, so test the same.
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port nothing listens on right now, never the same twice in a run. The fault suite needs
 * ports it chooses itself (not 0) because a restarted process must come back on the same port its
 * clients know.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = RANGE.from + Math.floor(Math.random() * (RANGE.to - RANGE.from));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
}

/** Resolves once something accepts TCP connections on the port, or throws after timeoutMs. */
export async function waitForPort(port: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not open port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
