import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FileKeyStore } from "../../src/keyring/file-store.js";
import { recordingLogger, tempDir } from "./helpers.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "open-ring.ts");

interface Child {
  /** Resolves when the child waits at the start line. */
  readonly ready: Promise<void>;
  /** Resolves to the id the child's ring signs with. */
  readonly signed: Promise<string>;
}

function run(dir: string, startFile: string): Child {
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const signed = new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, dir, startFile], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 10_000, // a hung child is killed and fails the test rather than hanging it
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk;
      if (out.startsWith("ready\n")) markReady();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(out.replace("ready\n", "").trim())
        : reject(new Error(`exit ${code}: ${err}`)),
    );
  });
  return { ready, signed };
}

test("rings in separate processes starting together on one directory keep every key they sign with", {
  timeout: 15_000,
}, async (t) => {
  const base = await tempDir(t);
  const dir = join(base, "ring");
  const startFile = join(base, "go");
  const children = Array.from({ length: 4 }, () => run(dir, startFile));
  await Promise.race([
    Promise.all(children.map((c) => c.ready)),
    Promise.all(children.map((c) => c.signed)), // a child that dies early fails the test here
  ]);
  await writeFile(startFile, "");
  const signed = await Promise.all(children.map((c) => c.signed));

  const logger = recordingLogger();
  const stored = await new FileKeyStore({ dir, logger }).load();
  const storedIds = stored.map((k) => k.id);
  for (const id of signed) assert.ok(storedIds.includes(id), `key ${id} was lost`);
  assert.equal(logger.entries.length, 0, "no corrupt or partial record");
  assert.ok(stored.length >= 1 && stored.length <= 4);
  assert.deepEqual(
    (await readdir(dir)).filter((name) => !name.endsWith(".json")),
    [],
    "no temp files left behind",
  );
});
