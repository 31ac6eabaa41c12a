import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

/**
 * What the proxy does with a connection:
 * - `pass`: forwards both ways to the target;
 * - `blackhole`: accepts and reads, never answers (a store that stopped answering);
 * - `slow`: forwards, but holds every answer for `slowMs` first (answers after the deadline);
 * - `reset`: forwards the request, lets `resetAfterBytes` of the answer through, then resets.
 */
export type ProxyMode = "pass" | "blackhole" | "slow" | "reset";

export interface FaultyProxyOptions {
  /** Where `pass`, `slow` and `reset` forward to; without it they behave like `blackhole`. */
  readonly target?: { readonly host: string; readonly port: number };
  /** Default "pass". */
  readonly mode?: ProxyMode;
  /** Hold time of `slow`; default 5000 ms. */
  readonly slowMs?: number;
  /** Answer bytes `reset` lets through before the reset; default 20 (mid-headers or mid-body). */
  readonly resetAfterBytes?: number;
}

interface Connection {
  readonly client: Socket;
  upstream: Socket | undefined;
  mode: ProxyMode;
  sent: number;
}

/**
 * A TCP proxy whose faults can be switched while clients are connected: the way to point a real
 * client (the AWS SDK, ioredis) at a dependency that accepts connections and then stalls, slows
 * down or resets, and back. Written by hand: the fault kinds are the test's subject, and no
 * maintained library switches them on live connections.
 */
export class FaultyProxy {
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #options: FaultyProxyOptions;
  #mode: ProxyMode;
  /** Connections the client side closed while they were black-holed (hung sockets let go). */
  clientClosedWhileStalled = 0;
  /** Every connection accepted so far. */
  accepted = 0;

  private constructor(options: FaultyProxyOptions) {
    this.#options = options;
    this.#mode = options.mode ?? "pass";
    this.#server = createServer((socket) => this.#accept(socket));
  }

  static async start(options: FaultyProxyOptions = {}): Promise<FaultyProxy> {
    const proxy = new FaultyProxy(options);
    proxy.#server.listen(0, "127.0.0.1");
    await once(proxy.#server, "listening");
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Connections open now, and how many of them are black-holed. */
  get open(): { readonly total: number; readonly stalled: number } {
    let stalled = 0;
    for (const c of this.#connections) if (c.mode === "blackhole") stalled += 1;
    return { total: this.#connections.size, stalled };
  }

  /**
   * New connections get `mode`. With `existing: true` (default) open ones switch too — as when a
   * store stops answering on the keep-alive sockets a client already holds; `pass` never revives
   * a black-holed connection (its bytes were dropped), so a client must open a new one.
   */
  setMode(mode: ProxyMode, { existing = true }: { existing?: boolean } = {}): void {
    this.#mode = mode;
    if (!existing) return;
    for (const c of this.#connections) {
      if (mode === "blackhole") c.mode = "blackhole";
      else if (c.mode !== "blackhole") c.mode = mode;
    }
  }

  async close(): Promise<void> {
    for (const c of this.#connections) {
      c.client.destroy();
      c.upstream?.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted += 1;
    const c: Connection = { client, upstream: undefined, mode: this.#mode, sent: 0 };
    this.#connections.add(c);
    client.on("error", () => {});
    client.on("close", () => {
      if (c.mode === "blackhole") this.clientClosedWhileStalled += 1;
      this.#connections.delete(c);
      c.upstream?.destroy();
    });
    const target = this.#options.target;
    if (target !== undefined && c.mode !== "blackhole") {
      const upstream = connect(target.port, target.host);
      c.upstream = upstream;
      upstream.on("error", () => client.destroy());
      upstream.on("close", () => client.destroy());
      upstream.on("data", (chunk: Buffer) => void this.#answer(c, chunk));
    }
    client.on("data", (chunk: Buffer) => {
      // A black-holed connection swallows what it is sent, like a peer that stopped reading
      // its socket only after the kernel had acknowledged the bytes.
      if (c.mode === "blackhole" || c.upstream === undefined) return;
      c.upstream.write(chunk);
    });
  }

  async #answer(c: Connection, chunk: Buffer): Promise<void> {
    if (c.mode === "slow") {
      c.upstream?.pause();
      await delay(this.#options.slowMs ?? 5000);
      c.upstream?.resume();
    }
    if (c.mode === "blackhole" || c.client.destroyed) return;
    if (c.mode === "reset") {
      const allowed = Math.max(0, (this.#options.resetAfterBytes ?? 20) - c.sent);
      if (allowed > 0) c.client.write(chunk.subarray(0, allowed));
      c.sent += Math.min(allowed, chunk.length);
      if (chunk.length >= allowed) {
        c.client.resetAndDestroy();
        c.upstream?.destroy();
      }
      return;
    }
    c.client.write(chunk);
  }
}
