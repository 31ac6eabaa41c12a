import { FileKeyStore } from "./file-store.js";
import type { KeyStore, KeyStoreKind } from "./key-store.js";
import type { KeyRingLogger } from "./logger.js";
import { MemoryKeyStore } from "./memory-store.js";
import { createRedisClient, type RedisClientOptions } from "./redis-client.js";
import { RedisKeyStore } from "./redis-store.js";

export interface CreateKeyStoreOptions {
  readonly kind: KeyStoreKind;
  /** Directory of the file store; required for kind "file". */
  readonly dir?: string;
  /** Connection of the redis store (its logger defaults to `logger`); required for kind "redis". */
  readonly redis?: Omit<RedisClientOptions, "logger"> & { readonly logger?: KeyRingLogger };
  /** Key prefix of the redis store; default "fleetline:keyring". */
  readonly prefix?: string;
  readonly logger: KeyRingLogger;
}

/** Builds the configured store; throws when the option its kind needs is missing. */
export function createKeyStore(options: CreateKeyStoreOptions): KeyStore {
  switch (options.kind) {
    case "memory":
      return new MemoryKeyStore();
    case "file":
      if (options.dir === undefined) throw new Error('key store "file" needs a dir');
      return new FileKeyStore({ dir: options.dir, logger: options.logger });
    case "redis": {
      if (options.redis === undefined) throw new Error('key store "redis" needs redis options');
      const redis = createRedisClient({
        ...options.redis,
        logger: options.redis.logger ?? options.logger,
      });
      return new RedisKeyStore({
        redis,
        logger: options.logger,
        ...(options.prefix !== undefined && { prefix: options.prefix }),
      });
    }
  }
}
