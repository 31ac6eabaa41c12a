import { errorMessage, type KeyRingLogger } from "./logger.js";
import { parseSigningKey, type SigningKey } from "./signing-key.js";

export type KeyStoreKind = "memory" | "file" | "redis";

/**
 * Where the key ring is persisted and shared. Keys are never overwritten once added; the only
 * mutation is revocation, which is monotonic (false → true), so concurrent writers cannot undo
 * each other.
 */
export interface KeyStore {
  readonly kind: KeyStoreKind;
  /** Every stored key, expired and revoked ones included; corrupt records are logged and skipped. */
  load(): Promise<SigningKey[]>;
  /** Stores the key unless its id exists already (then does nothing): safe to repeat and to race. */
  add(key: SigningKey): Promise<void>;
  /** Marks the key revoked; throws {@link KeyNotFoundError} when the id is not stored. */
  revoke(id: string): Promise<void>;
  /** Resolves when the store answers; throws when it is unreachable (readiness checks). */
  ping(): Promise<void>;
  /** Releases connections or handles; the store is unusable afterwards. */
  close(): Promise<void>;
}

export class KeyNotFoundError extends Error {
  override readonly name = "KeyNotFoundError";
  constructor(readonly keyId: string) {
    super(`key ${keyId} is not in the store`);
  }
}

/**
 * Parses one stored record, or logs why it was skipped and returns undefined: a single bad
 * record must not take the whole ring (and so every form on the site) down with it.
 */
export function parseStoredKey(
  json: string,
  where: { readonly store: KeyStoreKind; readonly location: string; readonly expectedId?: string },
  logger: KeyRingLogger,
): SigningKey | undefined {
  try {
    const key = parseSigningKey(json);
    if (where.expectedId !== undefined && key.id !== where.expectedId) {
      throw new Error(`record id ${key.id} does not match its name ${where.expectedId}`);
    }
    return key;
  } catch (err) {
    logger.warn(
      { store: where.store, location: where.location, err: errorMessage(err) },
      "key ring: ignoring a corrupt key record",
    );
    return undefined;
  }
}
