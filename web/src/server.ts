import { resolve } from "node:path";
import type { Logger } from "pino";
import { buildApp } from "./app.js";
import { readCacheAddress, readSecretString } from "./aws-parameters.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { resolveInstanceId } from "./home/instance-id.js";
import { createKeyStore, KeyRing, type KeyStore } from "./keyring/index.js";
import { closeLogger, createLogger } from "./logger.js";
import { UsersRepository } from "./users/repository.js";

/** The key store named by config; on AWS the cache address and AUTH token are looked up at start. */
async function openKeyStore(config: Config, logger: Logger): Promise<KeyStore> {
  if (config.KEYRING_STORE === "memory") return createKeyStore({ kind: "memory", logger });
  if (config.KEYRING_STORE === "file") {
    return createKeyStore({ kind: "file", dir: resolve(config.KEYRING_DIR), logger });
  }
  let password = config.REDIS_AUTH_TOKEN;
  if (!password && config.REDIS_AUTH_SECRET_ID) {
    password = await readSecretString(config.REDIS_AUTH_SECRET_ID, {
      region: config.AWS_REGION,
      endpoint: config.SECRETS_MANAGER_ENDPOINT,
    });
  }
  if (config.REDIS_URL) {
    return createKeyStore({
      kind: "redis",
      prefix: config.KEYRING_PREFIX,
      redis: { url: config.REDIS_URL, tls: config.REDIS_TLS, password, logger },
      logger,
    });
  }
  const parameter = config.REDIS_ADDRESS_PARAMETER ?? "";
  const address = await readCacheAddress(parameter, {
    region: config.AWS_REGION,
    endpoint: config.SSM_ENDPOINT,
  });
  logger.info({ parameter, host: address.host, port: address.port }, "cache address read from SSM");
  return createKeyStore({
    kind: "redis",
    prefix: config.KEYRING_PREFIX,
    redis: { host: address.host, port: address.port, tls: config.REDIS_TLS, password, logger },
    logger,
  });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`fleetline web: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const instanceId = await resolveInstanceId({
    configured: config.INSTANCE_ID,
    metadataEndpoint: config.EC2_METADATA_ENDPOINT,
  });
  const logger = createLogger({ level: config.LOG_LEVEL, dir: config.LOG_DIR, instanceId });

  const store = await openKeyStore(config, logger);
  const keyRing = await KeyRing.open({ store, logger });
  const users = new UsersRepository({
    tableName: config.USERS_TABLE,
    region: config.AWS_REGION,
    endpoint: config.DYNAMODB_ENDPOINT,
  });
  const app = await buildApp(config, { users, keyRing, instanceId, logger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight requests");
    const force = setTimeout(() => {
      logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, "shutdown timed out; exiting");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    let code = 0;
    try {
      await app.close();
      await keyRing.close();
      users.close();
      logger.info("stopped");
    } catch (error) {
      logger.error({ err: error }, "error while shutting down");
      code = 1;
    }
    // Every buffered line written before exiting (the logger is asynchronous); then exit rather
    // than wait for a stray handle to let go, which systemd would end with SIGKILL.
    await closeLogger(logger);
    process.exit(code);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));

  await app.listen({ host: config.HOST, port: config.PORT });
  logger.info(
    { instanceId, keyStore: config.KEYRING_STORE, table: config.USERS_TABLE },
    "fleetline web ready",
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `fleetline web failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
