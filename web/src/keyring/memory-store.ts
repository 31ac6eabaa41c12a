import { KeyNotFoundError, type KeyStore } from "./key-store.js";
import { type SigningKey, withRevoked } from "./signing-key.js";

/**
 * Keeps keys in this process only. Two instances behind a load balancer therefore cannot verify
 * each other's tokens: this store exists to reproduce the original outage on purpose, and for
 * single-process tests.
 */
export class MemoryKeyStore implements KeyStore {
  readonly kind = "memory" as const;
  readonly #keys = new Map<string, SigningKey>();

  async load(): Promise<SigningKey[]> {
    return [...this.#keys.values()];
  }

  async add(key: SigningKey): Promise<void> {
    if (!this.#keys.has(key.id)) this.#keys.set(key.id, key);
  }

  async revoke(id: string): Promise<void> {
    const key = this.#keys.get(id);
    if (key === undefined) throw new KeyNotFoundError(id);
    this.#keys.set(id, withRevoked(key));
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
