import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startEmbeddedDynamoDb } from "./embedded-dynamodb.js";
import { Fleet, type InstanceSpec } from "./fleet.js";
import { LoadBalancer, type LoadBalancerOptions } from "./load-balancer.js";
import { type Logger, silentLogger } from "./logger.js";
import { type DevOperator, startLocalOidcProvider } from "./oidc-provider.js";
import { assertPortFree, freePort, PortInUseError, waitForListening } from "./ports.js";
import { lockStateDir } from "./state-lock.js";
import { ensureUsersTable } from "./users-table.js";
import { repoRoot, type WebCommand } from "./web-command.js";

export type KeyringStore = "memory" | "file" | "redis";

/** Options of {@link startLocalStack}; every field optional, defaults are `npm start`'s. */
export interface LocalStackOptions {
  /** Web instances. Default 2. */
  readonly instances?: number;
  /** Load balancer port; 0 picks a free one. Default 8080. */
  readonly port?: number;
  /** First instance port, the others follow; 0 picks free ones. Default 5001. */
  readonly instancePort?: number;
  /** Address everything listens on. Default "127.0.0.1". */
  readonly host?: string;
  /** Key ring store of every instance. Default "file". */
  readonly keyring?: KeyringStore;
  /** Required when keyring is "redis". */
  readonly redisUrl?: string;
  /** No files at all: DynamoDB in memory, file key ring in a temporary directory. Default false. */
  readonly inMemory?: boolean;
  /** Where data (.fleetline/data) and keys (.fleetline/keys) persist. Default `<repo>/.fleetline`. */
  readonly stateDir?: string;
  /** DynamoDB table name. Default "Users". */
  readonly usersTable?: string;
  /** Overrides of the load balancer (health-check timings, deregistration delay…). */
  readonly loadBalancer?: Omit<LoadBalancerOptions, "logger">;
  /** Longest wait for all instances to pass health checks at start. Default 60000 ms. */
  readonly readyTimeoutMs?: number;
  /** Extra environment for every instance (LOG_LEVEL, DEBUG_ROUTES…). */
  readonly webEnv?: Readonly<Record<string, string>>;
  /** Default: the real web through tsx. */
  readonly webCommand?: WebCommand;
  /** Instance log lines, prefixed with the instance id. Default: dropped. */
  readonly output?: (line: string) => void;
  /** The supervisor's and load balancer's own events. Default silent. */
  readonly logger?: Logger;
  /** Passed to the fleet: SIGTERM→SIGKILL timeout per instance. Default 15000 ms. */
  readonly stopTimeoutMs?: number;
  /** The local OpenID provider's port; 0 picks a free one. Default 0. */
  readonly oidcPort?: number;
}

export interface LocalStack {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly lbPort: number;
  readonly instances: ReadonlyArray<InstanceSpec & { readonly url: string }>;
  readonly keyring: KeyringStore;
  readonly dynamoDbEndpoint: string;
  /** Where keys and data persist; undefined in memory. */
  readonly stateDir: string | undefined;
  /** The local OpenID provider the instances sign operators in with, and its one operator. */
  readonly oidc: { readonly issuer: string; readonly operator: DevOperator };
  readonly loadBalancer: LoadBalancer;
  readonly fleet: Fleet;
  /**
   * Restarts the instances one at a time through draining: deregister (in-flight requests
   * finish), restart, register, wait until healthy, next — so the site never goes down.
   */
  rollingRestart(): Promise<void>;
  /** Stops the load balancer, the instances and DynamoDB; idempotent. */
  stop(): Promise<void>;
}

/** Starts DynamoDB, the fleet and the load balancer; resolves once every instance is healthy. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? "127.0.0.1";
  const count = options.instances ?? 2;
  if (!Number.isInteger(count) || count < 1)
    throw new Error("instances must be a whole number ≥ 1");
  const keyring = options.keyring ?? "file";
  if (keyring === "redis" && !options.redisUrl) {
    throw new Error("the redis key ring needs a Redis URL (set REDIS_URL)");
  }
  const log = options.logger ?? silentLogger;
  const lbPort = options.port ?? 8080;
  const firstPort = options.instancePort ?? 5001;
  const inMemory = options.inMemory ?? false;

  // Fail before starting anything, with the flag that fixes it.
  if (lbPort !== 0) await assertPortFree(lbPort, host, "--port");
  // Known before the instances start: it is their public origin (the sign-in callback).
  const publicPort = lbPort === 0 ? await freePort(host) : lbPort;
  const specs: InstanceSpec[] = [];
  for (let i = 0; i < count; i += 1) {
    const port = firstPort === 0 ? await freePort(host) : firstPort + i;
    if (firstPort !== 0) await assertPortFree(port, host, "--instance-port");
    specs.push({ id: `web-${i + 1}`, port });
  }

  const stateDir = inMemory ? undefined : resolve(options.stateDir ?? join(repoRoot, ".fleetline"));
  const keysDir = stateDir
    ? join(stateDir, "keys")
    : mkdtempSync(join(tmpdir(), "fleetline-keys-"));
  if (stateDir) mkdirSync(keysDir, { recursive: true });

  const cleanups: Array<() => Promise<void> | void> = [];
  if (!stateDir) cleanups.push(() => rmSync(keysDir, { recursive: true, force: true }));
  const runCleanups = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log.error({ error: (err as Error).message }, "cleanup failed");
      }
    }
  };

  try {
    if (stateDir) cleanups.push(lockStateDir(stateDir));
    const dynamo = await startEmbeddedDynamoDb({
      host,
      ...(stateDir ? { dataDir: join(stateDir, "data") } : {}),
    });
    cleanups.push(() => dynamo.stop());
    const tableName = options.usersTable ?? "Users";
    const created = await ensureUsersTable({
      endpoint: dynamo.endpoint,
      tableName,
      region: "us-east-1",
    });
    log.info({ table: tableName, created, endpoint: dynamo.endpoint }, "DynamoDB ready");

    const publicOrigins = [`http://${host}:${publicPort}`];
    if (host === "127.0.0.1") publicOrigins.push(`http://localhost:${publicPort}`);
    const oidc = await startLocalOidcProvider({
      host,
      port: options.oidcPort ?? 0,
      webOrigins: publicOrigins,
      ...(stateDir ? { operatorFile: join(stateDir, "oidc", "operator.json") } : {}),
    });
    cleanups.push(() => oidc.stop());
    log.info({ issuer: oidc.issuer }, "OpenID provider ready");
    // --keyring memory keeps the anti-forgery keys per instance (the original's bug), but the
    // operator must stay signed in across instances to see it: sessions get a shared file ring.
    const sessionKeysDir =
      keyring === "memory"
        ? stateDir
          ? join(stateDir, "session-keys")
          : join(keysDir, "session-keys")
        : undefined;

    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "development",
      HOST: host,
      AWS_REGION: "us-east-1",
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      USERS_TABLE: tableName,
      KEYRING_STORE: keyring,
      KEYRING_DIR: keysDir,
      TRUST_PROXY: "127.0.0.1",
      OIDC_ISSUER: oidc.issuer,
      OIDC_CLIENT_ID: oidc.clientId,
      PUBLIC_ORIGIN: publicOrigins.join(","),
      ...(sessionKeysDir ? { SESSION_KEYRING_DIR: sessionKeysDir } : {}),
      // Under the fleet's own SIGKILL timeout, so a stuck shutdown is the web's to report.
      SHUTDOWN_TIMEOUT_MS: "10000",
      // The supervisor's own SDK client already printed the Node-version notice once; N more
      // copies of the same seven lines would bury the banner.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...(keyring === "redis" && options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
      ...options.webEnv,
    };
    const fleet = new Fleet({
      instances: specs,
      env,
      ...(options.webCommand ? { command: options.webCommand } : {}),
      ...(options.output ? { output: options.output } : {}),
      ...(options.stopTimeoutMs ? { stopTimeoutMs: options.stopTimeoutMs } : {}),
      logger: log,
    });
    cleanups.push(() => fleet.stop());
    fleet.start();

    // Checks every second: a crashed instance leaves rotation within ~2 s and a new one joins
    // within ~2 s of listening (the ALB's 30 s × 5 would make a local restart feel broken).
    const lb = new LoadBalancer({
      healthCheckIntervalMs: 1000,
      healthCheckTimeoutMs: 1000,
      ...options.loadBalancer,
      logger: log,
    });
    cleanups.push(() => lb.close());
    let boundPort: number;
    try {
      boundPort = await lb.listen(publicPort, host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
        throw new PortInUseError(publicPort, "--port");
      throw err;
    }
    const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    const bringIntoService = async (spec: InstanceSpec) => {
      try {
        await waitForListening(spec.port, host, readyTimeoutMs);
        lb.register({ id: spec.id, host, port: spec.port });
        await lb.waitForHealthy(spec.id, readyTimeoutMs);
      } catch {
        throw new Error(
          `${spec.id} did not pass its health checks within ${readyTimeoutMs / 1000} s; see its log lines above`,
        );
      }
    };
    await Promise.all(specs.map(bringIntoService));

    let rolling: Promise<void> | undefined;
    let stopped: Promise<void> | undefined;
    return {
      url: `http://${host}:${boundPort}`,
      lbPort: boundPort,
      instances: specs.map((s) => ({ ...s, url: `http://${host}:${s.port}` })),
      keyring,
      dynamoDbEndpoint: dynamo.endpoint,
      stateDir,
      oidc: { issuer: oidc.issuer, operator: oidc.operator },
      loadBalancer: lb,
      fleet,
      rollingRestart() {
        rolling ??= (async () => {
          try {
            for (const spec of specs) {
              log.info({ instance: spec.id }, "rolling restart: draining");
              await lb.deregister(spec.id);
              await fleet.restart(spec.id);
              await bringIntoService(spec);
              log.info({ instance: spec.id }, "rolling restart: back in service");
            }
          } finally {
            rolling = undefined;
          }
        })();
        return rolling;
      },
      stop() {
        stopped ??= runCleanups();
        return stopped;
      },
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}
