// The key ring's public surface; the rest of the app imports from here only.
export { type CreateKeyStoreOptions, createKeyStore } from "./create-key-store.js";
export { FileKeyStore, type FileKeyStoreOptions } from "./file-store.js";
export { KeyRing, type KeyRingOptions } from "./key-ring.js";
export { KeyNotFoundError, type KeyStore, type KeyStoreKind } from "./key-store.js";
export type { KeyRingLogger } from "./logger.js";
export { MemoryKeyStore } from "./memory-store.js";
export { createRedisClient, type RedisClientOptions } from "./redis-client.js";
export { DEFAULT_REDIS_PREFIX, RedisKeyStore, type RedisKeyStoreOptions } from "./redis-store.js";
export {
  InvalidKeyRecordError,
  isValidKeyId,
  KEY_ID_PATTERN,
  newSigningKey,
  parseSigningKey,
  type SigningKey,
  serializeSigningKey,
} from "./signing-key.js";
