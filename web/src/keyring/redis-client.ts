import { Redis, type RedisOptions } from "ioredis";
import { errorMessage, type KeyRingLogger } from "./logger.js";

export interface RedisClientOptions {
  /** `redis://` or `rediss://` (TLS) URL, may carry user and password; wins over host/port. */
  readonly url?: string;
  /** Default 127.0.0.1 when no URL is given. */
  readonly host?: string;
  /** Default 6379. */
  readonly port?: number;
  /** Use TLS (ElastiCache in-transit encryption); default false, or true for a rediss:// URL. */
  readonly tls?: boolean;
  /** AUTH token (ElastiCache) or ACL password; overrides one in the URL. */
  readonly password?: string;
  /** ACL user name; default none (the `default` user). */
  readonly username?: string;
  /** Receives connection errors and recoveries; connection errors never throw. */
  readonly logger: KeyRingLogger;
  /**
   * Give up a connection attempt after this long, and destroy a connected socket that has a
   * command out and receives nothing for this long (or commandTimeoutMs if longer); default 2000 ms.
   */
  readonly connectTimeoutMs?: number;
  /** Reject any command, queued or sent, that has no answer after this long; default 1000 ms. */
  readonly commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts; default 5000 ms. */
  readonly maxReconnectDelayMs?: number;
}

/**
 * A client for the key store that an outage cannot turn into a crash or a hung request: errors
 * are logged rather than thrown (ioredis crashes the process on an unhandled 'error' event),
 * every command times out, and reconnection retries forever with capped exponential backoff.
 *
 * The offline queue stays on so the first commands after start wait for the connection instead
 * of failing at once; commandTimeout bounds that wait, and maxRetriesPerRequest 1 flushes the
 * queue on a failed reconnect, so nothing waits longer than commandTimeoutMs.
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 5000;
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  const commandTimeout = options.commandTimeoutMs ?? 1000;
  const settings: RedisOptions = {
    connectTimeout,
    commandTimeout,
    // connectTimeout ends at the TCP handshake; a server that accepts and then stays silent
    // would hold the ready check (and every command queued behind it) on that socket for ever.
    // commandTimeout only rejects the callers. socketTimeout destroys the socket, so ioredis
    // reconnects and recovers once the server answers again.
    socketTimeout: Math.max(connectTimeout, commandTimeout),
    maxRetriesPerRequest: 1,
    // ioredis waits this long for a closed socket to say so; a dead server never does, which
    // would otherwise hold a shutting-down process for the 2 s default.
    disconnectTimeout: 500,
    enableOfflineQueue: true,
    // Jitter keeps a fleet from reconnecting in lockstep after a cache failover.
    retryStrategy: (times) =>
      Math.min(maxDelay, 100 * 2 ** Math.min(times, 10) * (0.8 + Math.random() * 0.4)),
    // After an ElastiCache failover the old primary answers READONLY: reconnect and resend.
    reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
  };
  const target = options.url !== undefined ? parseRedisUrl(options.url) : {};
  const client = new Redis({
    ...settings,
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 6379,
    ...target,
    // Explicit settings win over the URL's, so an AUTH token from a secret can replace one
    // left in a URL; ioredis itself would prefer the URL's.
    ...(options.password && { password: options.password }),
    ...(options.username && { username: options.username }),
    ...(options.tls === true && { tls: {} }),
  });

  // One log line per distinct failure, not one per reconnection attempt.
  let lastError: string | undefined;
  client.on("error", (err: unknown) => {
    const message = errorMessage(err);
    if (message === lastError) return;
    lastError = message;
    options.logger.error({ err: message, redis: describe(client) }, "redis: connection error");
  });
  client.on("ready", () => {
    if (lastError === undefined) return;
    lastError = undefined;
    options.logger.info({ redis: describe(client) }, "redis: connection restored");
  });
  return client;
}

/** host:port for logs; never the password. */
function describe(client: Redis): string {
  return `${client.options.host ?? "?"}:${client.options.port ?? "?"}`;
}

/** The parts of a redis:// or rediss:// URL ioredis needs; throws on anything else. */
export function parseRedisUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("redis URL is not a valid URL");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new Error(`redis URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  const target: RedisOptions = { host: parsed.hostname.replace(/^\[|\]$/g, "") };
  if (parsed.port !== "") target.port = Number(parsed.port);
  if (parsed.username !== "") target.username = decodeURIComponent(parsed.username);
  if (parsed.password !== "") target.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "") {
    if (!/^\d+$/.test(db)) throw new Error("redis URL path must be a database number");
    target.db = Number(db);
  }
  if (parsed.protocol === "rediss:") target.tls = {};
  return target;
}
