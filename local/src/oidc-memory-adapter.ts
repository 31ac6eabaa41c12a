import type { Adapter, AdapterPayload } from "oidc-provider";

/**
 * oidc-provider's storage for the local provider: one process, nothing to keep across restarts
 * (a restart signs the operator out of the provider, not out of the web). oidc-provider ships a
 * memory adapter too, but warns on every start that production must not use it, which would
 * sit in `npm start`'s banner as if something were wrong.
 */
type Stores = Map<string, Map<string, { payload: AdapterPayload; expiresAt: number }>>;

/** A fresh adapter class per provider, so two providers in one process (tests) share nothing. */
export function createLocalMemoryAdapter(): new (name: string) => Adapter {
  const stores: Stores = new Map();
  return class extends LocalMemoryAdapter {
    constructor(name: string) {
      super(name, stores);
    }
  };
}

class LocalMemoryAdapter implements Adapter {
  readonly #name: string;
  readonly #stores: Stores;

  constructor(name: string, stores: Stores) {
    this.#name = name;
    this.#stores = stores;
  }

  #store() {
    let store = this.#stores.get(this.#name);
    if (!store) {
      store = new Map();
      this.#stores.set(this.#name, store);
    }
    return store;
  }

  #live(id: string): AdapterPayload | undefined {
    const entry = this.#store().get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#store().delete(id);
      return undefined;
    }
    return entry.payload;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    this.#store().set(id, { payload, expiresAt: Date.now() + expiresIn * 1000 });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#live(id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    for (const id of this.#store().keys()) {
      const payload = this.#live(id);
      if (payload?.userCode === userCode) return payload;
    }
    return undefined;
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    for (const id of this.#store().keys()) {
      const payload = this.#live(id);
      if (payload?.uid === uid) return payload;
    }
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const payload = this.#live(id);
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.#store().delete(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const store of this.#stores.values()) {
      for (const [id, entry] of store) if (entry.payload.grantId === grantId) store.delete(id);
    }
  }
}
