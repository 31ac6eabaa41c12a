// The behaviour every KeyStore must share, run against each implementation by its own test file.
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { KeyNotFoundError, type KeyStore } from "../../src/keyring/key-store.js";
import { newSigningKey, type SigningKey } from "../../src/keyring/signing-key.js";
import { type LogEntry, recordingLogger } from "./helpers.js";

const DAY = 86_400_000;

export interface ContractSubject {
  /** A fresh, empty store; a second call in the same test must reach the same storage. */
  readonly open: () => KeyStore;
  /** Writes an unparseable record named `id` straight into the storage, if the store can hold one. */
  readonly corrupt?: (id: string) => Promise<void>;
}

export interface ContractOptions {
  readonly skip?: string | false;
  /** Whether the store keeps serialized records that can be corrupted (file, redis). */
  readonly corruptible?: boolean;
  readonly setup: (
    t: TestContext,
    logger: ReturnType<typeof recordingLogger>,
  ) => Promise<ContractSubject>;
}

export function key(overrides: Partial<SigningKey> = {}): SigningKey {
  return { ...newSigningKey({ now: Date.now(), lifetimeMs: 90 * DAY }), ...overrides };
}

function assertSameKey(actual: SigningKey | undefined, expected: SigningKey): void {
  assert.ok(actual, `key ${expected.id} is missing`);
  assert.equal(actual.id, expected.id);
  assert.ok(actual.secret.equals(expected.secret), "secret differs");
  assert.equal(actual.created.getTime(), expected.created.getTime());
  assert.equal(actual.activates.getTime(), expected.activates.getTime());
  assert.equal(actual.expires.getTime(), expected.expires.getTime());
  assert.equal(actual.revoked, expected.revoked);
}

async function opened(t: TestContext, subject: ContractSubject): Promise<KeyStore> {
  const store = subject.open();
  t.after(() => store.close());
  return store;
}

export function describeKeyStoreContract(name: string, options: ContractOptions): void {
  describe(`${name} key store contract`, { skip: options.skip ?? false }, () => {
    test("an empty store loads no keys and answers ping", async (t) => {
      const store = await opened(t, await options.setup(t, recordingLogger()));
      assert.deepEqual(await store.load(), []);
      await store.ping();
    });

    test("an added key loads back with every field intact", async (t) => {
      const store = await opened(t, await options.setup(t, recordingLogger()));
      const k = key({ activates: new Date(Date.now() + 60_000) });
      await store.add(k);
      const loaded = await store.load();
      assert.equal(loaded.length, 1);
      assertSameKey(loaded[0], k);
    });

    test("adding an existing id neither overwrites nor duplicates it", async (t) => {
      const store = await opened(t, await options.setup(t, recordingLogger()));
      const original = key();
      await store.add(original);
      await store.add(original);
      await store.add({ ...original, secret: key().secret });
      const loaded = await store.load();
      assert.equal(loaded.length, 1);
      assertSameKey(loaded[0], original);
    });

    test("concurrent adds of one id from separate store objects keep exactly one of them", async (t) => {
      const subject = await options.setup(t, recordingLogger());
      const id = key().id;
      const rivals = Array.from({ length: 8 }, () => key({ id }));
      const stores = rivals.map(() => subject.open());
      t.after(() => Promise.all(stores.map((s) => s.close())));
      await Promise.all(rivals.map((k, i) => stores[i]?.add(k)));
      const loaded = await (stores[0] as KeyStore).load();
      assert.equal(loaded.length, 1);
      const winner = rivals.find((k) => k.secret.equals((loaded[0] as SigningKey).secret));
      assert.ok(winner, "the stored key is none of the rivals");
      assertSameKey(loaded[0], winner);
    });

    test("concurrent adds of different ids all survive", async (t) => {
      const subject = await options.setup(t, recordingLogger());
      const keys = Array.from({ length: 10 }, () => key());
      const stores = keys.map(() => subject.open());
      t.after(() => Promise.all(stores.map((s) => s.close())));
      await Promise.all(keys.map((k, i) => stores[i]?.add(k)));
      const loaded = await (stores[0] as KeyStore).load();
      assert.deepEqual(loaded.map((k) => k.id).sort(), keys.map((k) => k.id).sort());
    });

    test("revoke marks only that key revoked and is idempotent", async (t) => {
      const store = await opened(t, await options.setup(t, recordingLogger()));
      const doomed = key();
      const kept = key();
      await store.add(doomed);
      await store.add(kept);
      await store.revoke(doomed.id);
      await store.revoke(doomed.id);
      const byId = new Map((await store.load()).map((k) => [k.id, k]));
      assertSameKey(byId.get(doomed.id), { ...doomed, revoked: true });
      assertSameKey(byId.get(kept.id), kept);
    });

    test("revoking an id that is not stored throws KeyNotFoundError", async (t) => {
      const store = await opened(t, await options.setup(t, recordingLogger()));
      await assert.rejects(store.revoke("NoSuchKeyId01"), KeyNotFoundError);
    });

    // A store holding key objects rather than records (memory) has nothing that can be corrupt.
    if (options.corruptible) {
      test("a corrupt record is logged and skipped while good keys still load", async (t) => {
        const logger = recordingLogger();
        const subject = await options.setup(t, logger);
        assert.ok(subject.corrupt, "a corruptible store must provide corrupt()");
        const store = await opened(t, subject);
        const good = key();
        await store.add(good);
        await subject.corrupt("CorruptKey0001");
        const loaded = await store.load();
        assert.equal(loaded.length, 1);
        assertSameKey(loaded[0], good);
        const warning = logger.entries.find((e: LogEntry) => e.level === "warn");
        assert.ok(warning, "no warning logged for the corrupt record");
        assert.match(String(warning.obj.location), /CorruptKey0001/);
      });
    }
  });
}
