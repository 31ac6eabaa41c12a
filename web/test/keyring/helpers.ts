import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Redis } from "ioredis";
import { FileKeyStore } from "../../src/keyring/file-store.js";
import { KeyRing, type KeyRingOptions } from "../../src/keyring/key-ring.js";
import type { KeyStore } from "../../src/keyring/key-store.js";
import type { KeyRingLogger } from "../../src/keyring/logger.js";
import { createRedisClient } from "../../src/keyring/redis-client.js";
import { RedisKeyStore } from "../../src/keyring/redis-store.js";
import type { SigningKey } from "../../src/keyring/signing-key.js";
import { TEST_REDIS_HOST, TEST_REDIS_PORT } from "./redis-available.js";

export interface LogEntry {
  readonly level: "info" | "warn" | "error";
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

/** A logger that keeps what it is told, for assertions on log lines. */
export function recordingLogger(): KeyRingLogger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry["level"]) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { entries, info: at("info"), warn: at("warn"), error: at("error") };
}

/** Whether the ring logged that its store answers again after a failure (what operators see). */
export function loggedRecovery(logger: { readonly entries: readonly LogEntry[] }): boolean {
  return logger.entries.some((e) => e.msg === "key ring: store reachable again");
}

/** Whether the ring logged a store failure whose message matches `pattern`. */
export function loggedStoreError(
  logger: { readonly entries: readonly LogEntry[] },
  pattern: RegExp,
): boolean {
  return logger.entries.some((e) => e.level === "error" && pattern.test(String(e.obj.err)));
}

/** A fresh temporary directory, removed after the test. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fleetline-keyring-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A Redis key prefix no other test or run uses; its keys are deleted after the test. */
export function redisPrefix(t: TestContext): string {
  const prefix = `fleetline-test:${randomBytes(6).toString("hex")}`;
  t.after(async () => {
    const redis = testRedisClient();
    try {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });
  return prefix;
}

/** Where rings share their keys: a directory (file store) or a prefix in the test Redis. */
export type SharedStore = { readonly dir: string } | { readonly redisPrefix: string };

/**
 * A ring on its own store object over a shared store, as another instance (process) would
 * have; closed after the test. The hour-long interval keeps its timer out of the way.
 */
export async function openSharedRing(
  t: TestContext,
  shared: SharedStore,
  options: Partial<KeyRingOptions> = {},
): Promise<KeyRing> {
  const logger = recordingLogger();
  const store =
    "dir" in shared
      ? new FileKeyStore({ dir: shared.dir, logger })
      : new RedisKeyStore({ redis: testRedisClient(), prefix: shared.redisPrefix, logger });
  const ring = await KeyRing.open({ store, logger, refreshIntervalMs: 3_600_000, ...options });
  t.after(() => ring.close());
  return ring;
}

/** A plain client for the test Redis, for setup and inspection. */
export function testRedisClient(port = TEST_REDIS_PORT): Redis {
  return createRedisClient({
    host: TEST_REDIS_HOST,
    port,
    logger: recordingLogger(),
    commandTimeoutMs: 1000,
  });
}

/** Wraps a store, counting calls and failing on demand like an unreachable store would. */
export class ControlledStore implements KeyStore {
  readonly kind;
  loads = 0;
  adds = 0;
  failing = false;
  /** Awaited once, after the first load returns: lets a test line up several rings' first loads. */
  afterFirstLoad: (() => Promise<void>) | undefined;

  constructor(readonly inner: KeyStore) {
    this.kind = inner.kind;
  }

  async load(): Promise<SigningKey[]> {
    this.loads++;
    this.#check();
    const keys = await this.inner.load();
    const hook = this.afterFirstLoad;
    this.afterFirstLoad = undefined;
    await hook?.();
    return keys;
  }

  async add(key: SigningKey): Promise<void> {
    this.adds++;
    this.#check();
    return this.inner.add(key);
  }

  async revoke(id: string): Promise<void> {
    this.#check();
    return this.inner.revoke(id);
  }

  async ping(): Promise<void> {
    this.#check();
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  #check(): void {
    if (this.failing) throw new Error("store unreachable (simulated)");
  }
}

/**
 * A TCP relay in front of the test Redis that can be cut and restored on the same port, to
 * take "the store" down and bring it back without touching the Redis others use. It also counts
 * the bytes clients send, to prove that steady-state requests cause no Redis traffic.
 */
export class RedisRelay {
  bytesFromClients = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  private constructor(public port: number) {}

  /** Starts on `port`, or on a free port when 0. */
  static async start(t: TestContext, port = 0): Promise<RedisRelay> {
    const relay = new RedisRelay(port);
    await relay.up();
    t.after(() => relay.down());
    return relay;
  }

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect({ host: TEST_REDIS_HOST, port: TEST_REDIS_PORT });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on("data", (chunk: Buffer) => {
        this.bytesFromClients += chunk.length;
      });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, TEST_REDIS_HOST, () => resolve());
    });
    const address = server.address();
    if (address !== null && typeof address === "object") this.port = address.port;
    this.#server = server;
  }

  /** Refuses new connections and cuts the open ones, like a cache node going away. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Resolves every caller once `parties` callers are waiting: makes two rings both see an empty
 * store before either writes, the worst case of instances starting together.
 */
export function barrier(parties: number): () => Promise<void> {
  let waiting = 0;
  let release: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return () => {
    waiting++;
    if (waiting >= parties) release();
    return all;
  };
}

/** A TCP port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, TEST_REDIS_HOST, () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address !== "object") throw new Error("no port");
  return address.port;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
