import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryKeyStore } from "../../src/keyring/memory-store.js";
import { describeKeyStoreContract, key } from "./store-contract.js";

// One instance per test: a memory store is its own storage, so every "open" returns it.
describeKeyStoreContract("memory", {
  setup: async () => {
    const store = new MemoryKeyStore();
    return { open: () => store };
  },
});

test("two memory stores do not share keys, reproducing the per-instance ring on purpose", async () => {
  const a = new MemoryKeyStore();
  const b = new MemoryKeyStore();
  await a.add(key());
  assert.equal((await a.load()).length, 1);
  assert.deepEqual(await b.load(), []);
});
