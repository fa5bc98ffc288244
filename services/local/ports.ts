import net from "node:net";

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on host:port. */
export async function isListening(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Polls `url` until it answers 2xx; throws after `timeoutMs`, or at once if `child`
 * (the process that should be serving it) exits first.
 */
export async function waitForHttpOk(
  url: string,
  options: { timeoutMs?: number; intervalMs?: number; child?: { exitCode: number | null } } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (options.child && options.child.exitCode !== null) {
      throw new Error(`${url}: the process exited with code ${options.child.exitCode} during start-up`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms`);
}

/** Whether `port` can be bound on `host` right now (nothing else holds it). */
export async function canBind(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * Every fixed port `npm start` needs, checked before anything starts: the names of the
 * busy ones with the way out, or an empty list.
 */
export async function busyPorts(ports: Record<string, number>): Promise<string[]> {
  const busy: string[] = [];
  for (const [name, port] of Object.entries(ports))
    if (port > 0 && !(await canBind(port)))
      busy.push(
        `port ${port} (${name}) is in use (another \`npm start\`?): stop it, or run with LOCAL_STACK_PORTS=auto`,
      );
  return busy;
}
