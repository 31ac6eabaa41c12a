import { resolve } from "node:path";
import { buildApp } from "./app.js";
import { StartupReadError } from "./aws-parameters.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { resolveInstanceId } from "./home/instance-id.js";
import { createKeyStore, KeyRing, RedisKeyStore } from "./keyring/index.js";
import { openKeyStore } from "./keyring/open-key-store.js";
import { closeLogger, createLogger } from "./logger.js";
import { UsersRepository } from "./users/repository.js";

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

  // One deadline for every read from AWS before the web can serve: a stalled SSM or Secrets
  // Manager ends the start with a clear error instead of a process that never listens.
  const startup = AbortSignal.timeout(config.STARTUP_DEADLINE_MS);
  const store = await openKeyStore(config, logger, startup);
  const keyRing = await KeyRing.open({ store, logger });
  const sessionKeyRing =
    config.SESSION_KEYRING_DIR === undefined
      ? keyRing
      : await KeyRing.open({
          store: createKeyStore({ kind: "file", dir: resolve(config.SESSION_KEYRING_DIR), logger }),
          logger,
        });
  const users = new UsersRepository({
    tableName: config.USERS_TABLE,
    region: config.AWS_REGION,
    endpoint: config.DYNAMODB_ENDPOINT,
    attemptTimeoutMs: config.DYNAMODB_ATTEMPT_TIMEOUT_MS,
    connectTimeoutMs: config.DYNAMODB_CONNECT_TIMEOUT_MS,
    maxAttempts: config.DYNAMODB_MAX_ATTEMPTS,
    maxInFlight: config.MAX_STORE_CALLS_IN_FLIGHT,
  });
  const app = await buildApp(config, {
    users,
    keyRing,
    sessionKeyRing,
    instanceId,
    logger,
    // Rate limits share the key ring's cache, so the fleet counts each client once.
    rateLimitRedis: store instanceof RedisKeyStore ? store.client : undefined,
  });
  if (config.OIDC_ISSUER === undefined) {
    logger.warn("OIDC_ISSUER is not set: nobody can sign in, the users pages are closed");
  }

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
      if (sessionKeyRing !== keyRing) await sessionKeyRing.close();
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
  if (error instanceof StartupReadError) {
    // Expected at start on a broken environment: the message says it all, a stack would not.
    process.stderr.write(`fleetline web failed to start: ${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(
    `fleetline web failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
