import { connect, createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

/**
 * A port that cannot be bound, with the command-line flag that chooses another one, so the
 * CLI can print one line that says what to do instead of a stack trace.
 */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  constructor(
    readonly port: number,
    readonly flag: string,
  ) {
    super(`port ${port} is already in use; choose another with ${flag} <port>`);
  }
}

/** Resolves when `port` can be bound on `host`, else rejects with {@link PortInUseError}. */
export function assertPortFree(port: number, host: string, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      reject(
        err.code === "EADDRINUSE" || err.code === "EACCES" ? new PortInUseError(port, flag) : err,
      );
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/**
 * A port free right now (the kernel's choice); for tests and `--port 0`. Ten lines over node:net
 * rather than `get-port`, whose extras (preferred ports, a lock between callers) nothing here needs.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once something accepts TCP connections on `port`, polling every 100 ms; rejects
 * after timeoutMs. Lets the stack register an instance with the load balancer only when it
 * listens, as an Auto Scaling group registers an instance only once it is InService.
 */
export async function waitForListening(
  port: number,
  host: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await delay(100);
  }
}
