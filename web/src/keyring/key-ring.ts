import { KeyNotFoundError, type KeyStore } from "./key-store.js";
import { errorMessage, type KeyRingLogger } from "./logger.js";
import {
  isActive,
  isUsable,
  isValidKeyId,
  newSigningKey,
  type SigningKey,
  withRevoked,
} from "./signing-key.js";

export type { KeyRingLogger } from "./logger.js";

const SECOND = 1000;
const DAY = 86_400 * SECOND;

export interface KeyRingOptions {
  /** Where keys are shared with the other instances. The ring closes it on close(). */
  readonly store: KeyStore;
  readonly logger: KeyRingLogger;
  /** How long a key signs and verifies, counted from its activation; default 90 days. */
  readonly keyLifetimeMs?: number;
  /**
   * How long after creation a key made while another is active starts signing, so that every
   * instance has loaded it before any token carries it; default 2 × refreshIntervalMs. A ring
   * with no active key makes one that is active at once instead.
   */
  readonly activationDelayMs?: number;
  /**
   * Create the successor when the newest key expires within this long; default 7 days. Must
   * exceed activationDelayMs (else signing would stop between expiry and activation) and be
   * below keyLifetimeMs.
   */
  readonly rotateBeforeExpiryMs?: number;
  /** Reload the ring from the store this often; default 60 s. The timer does not hold the process open. */
  readonly refreshIntervalMs?: number;
  /**
   * Least time between two refreshes triggered by unknown key ids; default 1 s. Bounds the store
   * traffic a flood of forged tokens can cause.
   */
  readonly unknownKeyRefreshIntervalMs?: number;
  /** Clock in ms since the epoch, for key times and the rate limit; default Date.now. */
  readonly now?: () => number;
}

/**
 * The anti-forgery key ring, cached in memory so that signing and verifying do no I/O, and
 * kept in step with the other instances through a shared {@link KeyStore}.
 *
 * Unlike ASP.NET Data Protection (which re-reads its ring about once a day, and force-refreshes
 * on an unknown key only during its first two minutes), an unknown but well-formed key id in a
 * token triggers a rate-limited refresh at any time: a key minted a moment ago by another
 * instance is found on the first request that carries it.
 */
export class KeyRing {
  readonly #store: KeyStore;
  readonly #logger: KeyRingLogger;
  readonly #lifetimeMs: number;
  readonly #activationDelayMs: number;
  readonly #rotateBeforeMs: number;
  readonly #refreshIntervalMs: number;
  readonly #unknownRefreshMs: number;
  readonly #now: () => number;

  readonly #keys = new Map<string, SigningKey>();
  /** Ids known to be in the store: seen by the last load, or written since. */
  #published = new Set<string>();
  #refreshing: Promise<void> | undefined;
  #lastUnknownRefreshAt = Number.NEGATIVE_INFINITY;
  /** Why the last store operation failed; cleared by the next successful refresh. */
  #lastError: string | undefined;
  #lastErrorLoggedAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: KeyRingOptions) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#refreshIntervalMs = positive(
      options.refreshIntervalMs ?? 60 * SECOND,
      "refreshIntervalMs",
    );
    this.#lifetimeMs = positive(options.keyLifetimeMs ?? 90 * DAY, "keyLifetimeMs");
    this.#activationDelayMs = nonNegative(
      options.activationDelayMs ?? 2 * this.#refreshIntervalMs,
      "activationDelayMs",
    );
    this.#rotateBeforeMs = positive(
      options.rotateBeforeExpiryMs ?? 7 * DAY,
      "rotateBeforeExpiryMs",
    );
    this.#unknownRefreshMs = nonNegative(
      options.unknownKeyRefreshIntervalMs ?? SECOND,
      "unknownKeyRefreshIntervalMs",
    );
    if (this.#rotateBeforeMs <= this.#activationDelayMs) {
      throw new RangeError("rotateBeforeExpiryMs must exceed activationDelayMs");
    }
    if (this.#rotateBeforeMs >= this.#lifetimeMs) {
      throw new RangeError("rotateBeforeExpiryMs must be below keyLifetimeMs");
    }
  }

  /**
   * Loads the ring, makes a key active at once if there is none, and starts the refresh timer.
   * Never fails because of the store: when it is unreachable the ring signs with a key of its
   * own, logs, and publishes that key on the first refresh that reaches the store.
   * Throws RangeError only for inconsistent options.
   */
  static async open(options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options);
    await ring.refresh();
    ring.#timer = setInterval(() => {
      ring.refresh().catch(() => {});
    }, ring.#refreshIntervalMs);
    ring.#timer.unref();
    return ring;
  }

  /**
   * The key to sign with: among active keys, the one activated last (smallest id on a tie),
   * so that instances with the same ring choose the same key. Keys not yet in the store are
   * used only when no stored key is active, since other instances could not verify them.
   */
  signingKey(): SigningKey {
    const now = this.#now();
    const chosen = this.#selectSigningKey(now);
    if (chosen !== undefined) return chosen;
    // Every key expired or was revoked since the last refresh: keep serving with a fresh key
    // and publish it in the background rather than failing requests.
    const key = this.#mint(now, now);
    this.refresh().catch(() => {});
    return key;
  }

  /** A cached key that still verifies (not revoked, not expired), active or not yet. */
  find(id: string): SigningKey | undefined {
    const key = this.#keys.get(id);
    return key !== undefined && isUsable(key, this.#now()) ? key : undefined;
  }

  /**
   * {@link find}, and when the id is unknown but well formed, a refresh first (shared with any
   * refresh under way, and at most one per unknownKeyRefreshIntervalMs).
   */
  async resolve(id: string): Promise<SigningKey | undefined> {
    const cached = this.find(id);
    if (cached !== undefined) return cached;
    if (this.#closed || !isValidKeyId(id)) return undefined;
    if (this.#refreshing !== undefined) {
      await this.#refreshing;
      const found = this.find(id);
      if (found !== undefined) return found;
    }
    const now = this.#now();
    if (now - this.#lastUnknownRefreshAt < this.#unknownRefreshMs) {
      this.#logger.warn({ keyId: id, refreshed: false }, "key ring: unknown key id");
      return undefined;
    }
    this.#lastUnknownRefreshAt = now;
    await this.refresh();
    const found = this.find(id);
    if (found === undefined) {
      this.#logger.warn({ keyId: id, refreshed: true }, "key ring: unknown key id");
    }
    return found;
  }

  /**
   * Reloads the ring from the store, writes any key the store lacks, and creates keys that are
   * due. Never rejects: on a store failure the cached keys stay in use and the error is logged.
   * Concurrent calls share one refresh.
   */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#refreshing === undefined) {
      this.#refreshing = this.#refreshOnce().finally(() => {
        this.#refreshing = undefined;
      });
    }
    return this.#refreshing;
  }

  /**
   * Creates and stores a new key that starts signing after activationDelayMs; the current key
   * keeps signing until then and keeps verifying until it expires. Throws if the store fails.
   */
  async rotate(): Promise<SigningKey> {
    const now = this.#now();
    const key = newSigningKey({
      now,
      activates: now + this.#activationDelayMs,
      lifetimeMs: this.#lifetimeMs,
    });
    await this.#store.add(key);
    this.#keys.set(key.id, key);
    this.#published.add(key.id);
    this.#logger.info(
      { keyId: key.id, activates: key.activates.toISOString() },
      "key ring: rotated",
    );
    return key;
  }

  /**
   * Revokes a key here at once and in the store, so tokens it signed stop verifying everywhere
   * (on other instances from their next refresh). When it was the signing key, a replacement
   * active at once is stored first. Throws KeyNotFoundError for an id neither here nor stored,
   * or the store's error (the key then stays revoked on this instance).
   */
  async revoke(id: string): Promise<void> {
    const cached = this.#keys.get(id);
    if (cached !== undefined) this.#keys.set(id, withRevoked(cached));
    this.#mintDue(this.#now());
    try {
      await this.#publishMissing();
    } catch (err) {
      this.#recordError(err, "key ring: could not store the replacement key");
    }
    try {
      await this.#store.revoke(id);
    } catch (err) {
      // A key that never reached the store is revoked once it is revoked here.
      if (!(err instanceof KeyNotFoundError && cached !== undefined)) throw err;
    }
    this.#logger.info({ keyId: id }, "key ring: revoked");
  }

  /** Resolves when the store answers (readiness); the cached ring keeps working either way. */
  async ping(): Promise<void> {
    await this.#store.ping();
  }

  /** Stops the timer, waits for a refresh under way, and closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#refreshing;
    await this.#store.close();
  }

  #selectSigningKey(now: number): SigningKey | undefined {
    let stored: SigningKey | undefined;
    let local: SigningKey | undefined;
    for (const key of this.#keys.values()) {
      if (!isActive(key, now)) continue;
      if (this.#published.has(key.id)) stored = preferred(stored, key);
      else local = preferred(local, key);
    }
    return stored ?? local;
  }

  async #refreshOnce(): Promise<void> {
    try {
      let storedBefore = new Set(this.#published);
      this.#merge(await this.#store.load(), storedBefore);
      const minted = this.#mintDue(this.#now());
      const wrote = await this.#publishMissing();
      // Another instance may have minted at the same moment (two starting on an empty store):
      // read once more so both learn each other's key now rather than one interval later.
      if (minted && wrote) {
        storedBefore = new Set(this.#published);
        this.#merge(await this.#store.load(), storedBefore);
      }
      if (this.#lastError !== undefined) {
        this.#logger.info({ store: this.#store.kind }, "key ring: store reachable again");
      }
      this.#lastError = undefined;
    } catch (err) {
      const firstFailure = this.#lastError === undefined;
      this.#recordError(err, "key ring: refresh failed, verifying with cached keys");
      if (this.#mintDue(this.#now()) && firstFailure) {
        this.#logger.warn(
          { store: this.#store.kind },
          "key ring: store unreachable, signing with a key of this instance until it is stored",
        );
      }
    }
  }

  /**
   * Takes the store's view of each key it holds, keeping revocations made here. `storedBefore`
   * is what was known to be stored when the load began (a key written meanwhile is not lost).
   */
  #merge(loaded: readonly SigningKey[], storedBefore: ReadonlySet<string>): void {
    this.#published = new Set();
    for (const key of loaded) {
      const cached = this.#keys.get(key.id);
      this.#keys.set(key.id, cached?.revoked && !key.revoked ? withRevoked(key) : key);
      this.#published.add(key.id);
    }
    const now = this.#now();
    for (const [id, key] of this.#keys) {
      if (this.#published.has(id)) continue;
      if (storedBefore.has(id) && isUsable(key, now)) {
        // The store lost it (say, a cache node replaced without persistence): write it back
        // so tokens it signed keep verifying across the fleet.
        this.#logger.warn({ keyId: id }, "key ring: key missing from the store, restoring it");
      }
    }
  }

  /**
   * Creates a key active at once when none is active, or the successor when the newest key
   * expires within rotateBeforeExpiryMs. Returns whether it created one.
   */
  #mintDue(now: number): boolean {
    let anyActive = false;
    let latestExpiry = Number.NEGATIVE_INFINITY;
    for (const key of this.#keys.values()) {
      if (!isUsable(key, now)) continue;
      if (key.activates.getTime() <= now) anyActive = true;
      latestExpiry = Math.max(latestExpiry, key.expires.getTime());
    }
    if (!anyActive) {
      this.#mint(now, now);
      return true;
    }
    if (latestExpiry - now <= this.#rotateBeforeMs) {
      this.#mint(now, now + this.#activationDelayMs);
      return true;
    }
    return false;
  }

  #mint(now: number, activates: number): SigningKey {
    const key = newSigningKey({ now, activates, lifetimeMs: this.#lifetimeMs });
    this.#keys.set(key.id, key);
    this.#logger.info(
      { keyId: key.id, activates: key.activates.toISOString() },
      "key ring: created a key",
    );
    return key;
  }

  /** Writes every usable cached key the store lacks; returns whether it wrote any. */
  async #publishMissing(): Promise<boolean> {
    const now = this.#now();
    let wrote = false;
    for (const key of this.#keys.values()) {
      if (this.#published.has(key.id) || !isUsable(key, now)) continue;
      await this.#store.add(key);
      this.#published.add(key.id);
      wrote = true;
    }
    return wrote;
  }

  /**
   * Logs a new error at once, a repeated one at most once per refresh interval: during an
   * outage, unknown-id refreshes could otherwise log once a second.
   */
  #recordError(err: unknown, msg: string): void {
    const message = errorMessage(err);
    const now = this.#now();
    const repeated = message === this.#lastError;
    this.#lastError = message;
    if (repeated && now - this.#lastErrorLoggedAt < this.#refreshIntervalMs) return;
    this.#lastErrorLoggedAt = now;
    this.#logger.error({ store: this.#store.kind, err: message }, msg);
  }
}

/** Later activation wins; on a tie the smaller id, so every instance picks the same key. */
function preferred(current: SigningKey | undefined, candidate: SigningKey): SigningKey {
  if (current === undefined) return candidate;
  const diff = candidate.activates.getTime() - current.activates.getTime();
  if (diff !== 0) return diff > 0 ? candidate : current;
  return candidate.id < current.id ? candidate : current;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be > 0`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be >= 0`);
  return value;
}
