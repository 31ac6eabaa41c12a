/**
 * `npm run keyring -- <command>`: the operator's tool for the signing-key ring of a running
 * fleet. It reads the same environment as the web (config.ts), so it acts on the store the
 * instances use: the file store under `npm start`, Redis/Valkey on AWS (run it on an instance
 * with the web's environment file).
 *
 *   list            every stored key: id, state, dates
 *   revoke <id>     revoke a key (a replacement signs at once if it was the signing key);
 *                   every instance refuses its tokens and sessions from its next refresh
 *   rotate          store a successor key, signing after the activation delay
 */
import pino from "pino";
import { ConfigError, loadConfig } from "./config.js";
import { KeyNotFoundError, KeyRing } from "./keyring/index.js";
import { openKeyStore } from "./keyring/open-key-store.js";

const USAGE = `usage: npm run keyring -- list | revoke <key id> | rotate

Acts on the key store the web is configured with (KEYRING_STORE, KEYRING_DIR, REDIS_URL or
REDIS_ADDRESS_PARAMETER…, as in deploy/CONTRACT.md). Instances pick a revocation up at their next
refresh (every 60 s) and keep it even if the store later loses it.`;

/** The instances' periodic refresh: how long a revoked key may still verify somewhere. */
const REFRESH_SECONDS = 60;

export async function runKeyringCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
): Promise<number> {
  const [command, id, ...extra] = args;
  if (
    command === undefined ||
    extra.length > 0 ||
    !["list", "revoke", "rotate"].includes(command) ||
    (command === "revoke") !== (id !== undefined)
  ) {
    out(USAGE);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      out(err.message);
      return 2;
    }
    throw err;
  }
  if (config.KEYRING_STORE === "memory") {
    out(
      "KEYRING_STORE=memory: each instance holds its own keys in its memory; there is no store to act on.",
    );
    return 2;
  }
  const logger = pino({ level: "warn" }, pino.destination(2));
  const store = await openKeyStore(config, logger);
  try {
    if (command === "list") {
      const now = Date.now();
      const keys = await store.load();
      if (keys.length === 0) out("no keys stored");
      for (const key of keys.sort((a, b) => a.activates.getTime() - b.activates.getTime())) {
        const state = key.revoked
          ? "revoked"
          : key.expires.getTime() <= now
            ? "expired"
            : key.activates.getTime() > now
              ? "pending"
              : "active";
        out(
          `${key.id}  ${state.padEnd(7)}  created ${key.created.toISOString()}  activates ${key.activates.toISOString()}  expires ${key.expires.toISOString()}`,
        );
      }
      return 0;
    }
    // The ring, not the bare store: revoking the signing key must leave a replacement behind.
    const ring = await KeyRing.open({ store, logger, refreshIntervalMs: 3_600_000 });
    try {
      if (command === "rotate") {
        const key = await ring.rotate();
        out(`stored key ${key.id}; it starts signing at ${key.activates.toISOString()}`);
        return 0;
      }
      try {
        await ring.revoke(id ?? "");
      } catch (err) {
        if (err instanceof KeyNotFoundError) {
          out(`no key ${id} in the ${store.kind} store (npm run keyring -- list shows them)`);
          return 1;
        }
        throw err;
      }
      out(
        `revoked ${id} in the ${store.kind} store; signing with ${ring.signingKey().id}. ` +
          `Every instance refuses its forms and sessions within ${REFRESH_SECONDS} s ` +
          "(operators signed in with it sign in again).",
      );
      return 0;
    } finally {
      await ring.close();
    }
  } finally {
    await store.close().catch(() => {});
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runKeyringCli(process.argv.slice(2), process.env, (line) =>
    process.stdout.write(`${line}\n`),
  ).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`keyring: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
