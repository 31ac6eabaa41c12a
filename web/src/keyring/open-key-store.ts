import { resolve } from "node:path";
import type { Logger } from "pino";
import { readCacheAddress, readSecretString } from "../aws-parameters.js";
import type { Config } from "../config.js";
import { createKeyStore } from "./create-key-store.js";
import type { KeyStore } from "./key-store.js";

/**
 * The key store named by config; on AWS the cache address and AUTH token are looked up at start,
 * every read bounded by `startup` (the start-up deadline) and by one attempt's timeout.
 */
export async function openKeyStore(
  config: Config,
  logger: Logger,
  startup: AbortSignal = AbortSignal.timeout(config.STARTUP_DEADLINE_MS),
): Promise<KeyStore> {
  const aws = {
    region: config.AWS_REGION,
    attemptTimeoutMs: config.STARTUP_ATTEMPT_TIMEOUT_MS,
    signal: startup,
  };
  const redisTimeouts = {
    connectTimeoutMs: config.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  };
  if (config.KEYRING_STORE === "memory") return createKeyStore({ kind: "memory", logger });
  if (config.KEYRING_STORE === "file") {
    return createKeyStore({ kind: "file", dir: resolve(config.KEYRING_DIR), logger });
  }
  let password = config.REDIS_AUTH_TOKEN;
  if (!password && config.REDIS_AUTH_SECRET_ID) {
    password = await readSecretString(config.REDIS_AUTH_SECRET_ID, {
      ...aws,
      endpoint: config.SECRETS_MANAGER_ENDPOINT,
    });
  }
  if (config.REDIS_URL) {
    return createKeyStore({
      kind: "redis",
      prefix: config.KEYRING_PREFIX,
      redis: { url: config.REDIS_URL, tls: config.REDIS_TLS, password, logger, ...redisTimeouts },
      logger,
    });
  }
  const parameter = config.REDIS_ADDRESS_PARAMETER ?? "";
  const address = await readCacheAddress(parameter, { ...aws, endpoint: config.SSM_ENDPOINT });
  logger.info({ parameter, host: address.host, port: address.port }, "cache address read from SSM");
  return createKeyStore({
    kind: "redis",
    prefix: config.KEYRING_PREFIX,
    redis: {
      host: address.host,
      port: address.port,
      tls: config.REDIS_TLS,
      password,
      logger,
      ...redisTimeouts,
    },
    logger,
  });
}
