import type { SigningKey } from "./signing-key.js";

/**
 * Values derived from one signing key, remembered per key object and a string id (a session id,
 * a cookie). Keyed by the key object itself, not its id, so a value is only ever reused with the
 * very secret that made it, and a key that leaves the ring takes its values with it (WeakMap).
 * Whether a key may still be used is the caller's to check first. Each key's map is emptied when
 * it reaches `max`, so a flood of ids cannot grow it.
 */
export class PerKeyCache<V> {
  readonly #byKey = new WeakMap<SigningKey, Map<string, V>>();

  constructor(private readonly max: number) {}

  get(key: SigningKey, id: string): V | undefined {
    return this.#byKey.get(key)?.get(id);
  }

  set(key: SigningKey, id: string, value: V): void {
    let values = this.#byKey.get(key);
    if (!values) {
      values = new Map();
      this.#byKey.set(key, values);
    } else if (values.size >= this.max) values.clear();
    values.set(id, value);
  }
}
