import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, link, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { KeyNotFoundError, type KeyStore, parseStoredKey } from "./key-store.js";
import { type KeyRingLogger, stderrLogger } from "./logger.js";
import {
  isValidKeyId,
  parseSigningKey,
  type SigningKey,
  serializeSigningKey,
  withRevoked,
} from "./signing-key.js";

export interface FileKeyStoreOptions {
  /** Directory holding one `<id>.json` file per key; created with mode 0700 when missing. */
  readonly dir: string;
  /** Where skipped corrupt records are reported; default: JSON lines on stderr. */
  readonly logger?: KeyRingLogger;
}

const KEY_FILE = /^([A-Za-z0-9_-]{8,64})\.json$/;

function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string"
    ? err.code
    : undefined;
}

/**
 * Keys as files in a directory shared by the processes of one machine (the local fleet). Every
 * write goes to a private temp file first, then is linked or renamed into place, so a reader
 * never sees half a key and two processes adding keys at once cannot clobber each other.
 */
export class FileKeyStore implements KeyStore {
  readonly kind = "file" as const;
  readonly dir: string;
  readonly #logger: KeyRingLogger;

  constructor(options: FileKeyStoreOptions) {
    this.dir = options.dir;
    this.#logger = options.logger ?? stderrLogger;
  }

  async load(): Promise<SigningKey[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      // No directory yet is an empty ring (first start); anything else is an outage.
      if (errorCode(err) === "ENOENT") return [];
      throw err;
    }
    const keys: SigningKey[] = [];
    for (const name of names.sort()) {
      const match = KEY_FILE.exec(name);
      if (match === null) continue;
      const path = join(this.dir, name);
      let json: string;
      try {
        json = await readFile(path, "utf8");
      } catch (err) {
        if (errorCode(err) === "ENOENT") continue;
        throw err;
      }
      const key = parseStoredKey(
        json,
        { store: this.kind, location: path, expectedId: match[1] },
        this.#logger,
      );
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  async add(key: SigningKey): Promise<void> {
    await this.#ensureDir();
    const temp = await this.#writeTemp(key);
    try {
      // link() fails with EEXIST instead of replacing, unlike rename(): the first writer wins.
      await link(temp, this.#path(key.id));
    } catch (err) {
      if (errorCode(err) !== "EEXIST") throw err;
    } finally {
      await rm(temp, { force: true });
    }
  }

  async revoke(id: string): Promise<void> {
    if (!isValidKeyId(id)) throw new KeyNotFoundError(id);
    const path = this.#path(id);
    let json: string;
    try {
      json = await readFile(path, "utf8");
    } catch (err) {
      if (errorCode(err) === "ENOENT") throw new KeyNotFoundError(id);
      throw err;
    }
    const key = parseSigningKey(json);
    if (key.revoked) return;
    // Replacing is safe here: records never change except revoked going false → true.
    const temp = await this.#writeTemp(withRevoked(key));
    try {
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.#ensureDir();
    const info = await stat(this.dir);
    if (!info.isDirectory()) throw new Error(`${this.dir} is not a directory`);
    await access(this.dir, constants.R_OK | constants.W_OK | constants.X_OK);
  }

  async close(): Promise<void> {}

  #path(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  async #ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Writes the record to a fresh 0600 temp file (dot-prefixed, so load() skips it) and syncs it. */
  async #writeTemp(key: SigningKey): Promise<string> {
    const temp = join(this.dir, `.${key.id}.${randomBytes(6).toString("hex")}.tmp`);
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(serializeSigningKey(key), "utf8");
      await handle.sync();
    } catch (err) {
      await handle.close();
      await rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    return temp;
  }
}
