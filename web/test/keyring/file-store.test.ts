import assert from "node:assert/strict";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FileKeyStore } from "../../src/keyring/file-store.js";
import { parseSigningKey, serializeSigningKey } from "../../src/keyring/signing-key.js";
import { recordingLogger, tempDir } from "./helpers.js";
import { describeKeyStoreContract, key } from "./store-contract.js";

describeKeyStoreContract("file", {
  corruptible: true,
  setup: async (t, logger) => {
    const dir = join(await tempDir(t), "ring");
    return {
      open: () => new FileKeyStore({ dir, logger }),
      corrupt: async (id) => {
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, `${id}.json`), '{"id": "CorruptKey0001", "secret": ');
      },
    };
  },
});

test("the file store creates its directory 0700 and key files 0600, leaving no temp files", async (t) => {
  const dir = join(await tempDir(t), "nested", "ring");
  const store = new FileKeyStore({ dir, logger: recordingLogger() });
  const k = key();
  await store.add(k);
  await store.revoke(k.id);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.deepEqual(await readdir(dir), [`${k.id}.json`]);
  assert.equal((await stat(join(dir, `${k.id}.json`))).mode & 0o777, 0o600);
});

test("the file store ignores files that are not key records, such as temp files", async (t) => {
  const dir = await tempDir(t);
  const logger = recordingLogger();
  const store = new FileKeyStore({ dir, logger });
  const k = key();
  await store.add(k);
  await writeFile(join(dir, `.${k.id}.abc.tmp`), "half a rec");
  await writeFile(join(dir, "README.txt"), "not a key");
  assert.deepEqual(
    (await store.load()).map((x) => x.id),
    [k.id],
  );
  assert.equal(logger.entries.length, 0);
});

test("the file store rejects a record whose id differs from its file name", async (t) => {
  const dir = await tempDir(t);
  const logger = recordingLogger();
  const store = new FileKeyStore({ dir, logger });
  const k = key();
  await store.add(k);
  await writeFile(join(dir, "Impostor00001.json"), serializeSigningKey(key()));
  assert.deepEqual(
    (await store.load()).map((x) => x.id),
    [k.id],
  );
  assert.equal(logger.entries.filter((e) => e.level === "warn").length, 1);
});

test("the file store loads an empty ring before its directory exists, and fails when the path is a file", async (t) => {
  const base = await tempDir(t);
  const store = new FileKeyStore({ dir: join(base, "missing"), logger: recordingLogger() });
  assert.deepEqual(await store.load(), []);
  await writeFile(join(base, "blocked"), "");
  const blocked = new FileKeyStore({ dir: join(base, "blocked"), logger: recordingLogger() });
  await assert.rejects(blocked.load(), { code: "ENOTDIR" });
  await assert.rejects(blocked.ping());
  await assert.rejects(blocked.add(key()));
});

test("a revoked key file stays a complete, valid record", async (t) => {
  const dir = await tempDir(t);
  const store = new FileKeyStore({ dir, logger: recordingLogger() });
  const k = key();
  await store.add(k);
  await store.revoke(k.id);
  const parsed = parseSigningKey(await readFile(join(dir, `${k.id}.json`), "utf8"));
  assert.equal(parsed.revoked, true);
  assert.ok(parsed.secret.equals(k.secret));
});
