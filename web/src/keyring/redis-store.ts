import type { Redis } from "ioredis";
import { KeyNotFoundError, type KeyStore, parseStoredKey } from "./key-store.js";
import { type KeyRingLogger, stderrLogger } from "./logger.js";
import {
  parseSigningKey,
  type SigningKey,
  serializeSigningKey,
  withRevoked,
} from "./signing-key.js";

export { createRedisClient, type RedisClientOptions } from "./redis-client.js";

export interface RedisKeyStoreOptions {
  /** Client to use (see createRedisClient); the store owns it and quits it on close(). */
  readonly redis: Redis;
  /** Key prefix; the ring lives in the hash `<prefix>:keys`. Default "fleetline:keyring". */
  readonly prefix?: string;
  /** Where skipped corrupt records are reported; default: JSON lines on stderr. */
  readonly logger?: KeyRingLogger;
}

export const DEFAULT_REDIS_PREFIX = "fleetline:keyring";

/**
 * Replaces a field only if it still holds the value the caller read: revocation rewrites one
 * record without a lock and without clobbering a concurrent change to it.
 */
const COMPARE_AND_SET = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0`;

const REVOKE_ATTEMPTS = 5;

/**
 * Keys in one Redis hash, field = key id, value = JSON record. HSETNX makes adding a key
 * first-writer-wins, so instances starting together on an empty store cannot overwrite each
 * other, and a load is a single HGETALL.
 */
export class RedisKeyStore implements KeyStore {
  readonly kind = "redis" as const;
  /** The hash holding the ring. */
  readonly hashKey: string;
  readonly #redis: Redis;
  readonly #logger: KeyRingLogger;

  constructor(options: RedisKeyStoreOptions) {
    this.#redis = options.redis;
    this.hashKey = `${options.prefix ?? DEFAULT_REDIS_PREFIX}:keys`;
    this.#logger = options.logger ?? stderrLogger;
  }

  /**
   * The store's connection, for other fleet-wide state in the same cache (the rate limits).
   * The store still owns it: borrowers must not quit it.
   */
  get client(): Redis {
    return this.#redis;
  }

  async load(): Promise<SigningKey[]> {
    const fields = await this.#redis.hgetall(this.hashKey);
    const keys: SigningKey[] = [];
    for (const [id, json] of Object.entries(fields)) {
      const key = parseStoredKey(
        json,
        { store: this.kind, location: `${this.hashKey}[${id}]`, expectedId: id },
        this.#logger,
      );
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  async add(key: SigningKey): Promise<void> {
    await this.#redis.hsetnx(this.hashKey, key.id, serializeSigningKey(key));
  }

  async revoke(id: string): Promise<void> {
    for (let attempt = 0; attempt < REVOKE_ATTEMPTS; attempt++) {
      const json = await this.#redis.hget(this.hashKey, id);
      if (json === null) throw new KeyNotFoundError(id);
      const key = parseSigningKey(json);
      if (key.revoked) return;
      const revoked = serializeSigningKey(withRevoked(key));
      const swapped = await this.#redis.eval(COMPARE_AND_SET, 1, this.hashKey, id, json, revoked);
      if (swapped === 1) return;
    }
    throw new Error(`key ${id} kept changing while being revoked`);
  }

  async ping(): Promise<void> {
    await this.#redis.ping();
  }

  async close(): Promise<void> {
    if (this.#redis.status === "end") return;
    try {
      await this.#redis.quit();
    } catch {
      // quit() cannot reach a server that is down; drop the socket and stop reconnecting.
      this.#redis.disconnect();
    }
  }
}
