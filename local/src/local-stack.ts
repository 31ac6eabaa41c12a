import { join, resolve } from "node:path";
import { type WebSettings, webEnv } from "@fleetline/web/config";
import { Fleet, type InstanceSpec } from "./fleet.js";
import type { LoadBalancer, LoadBalancerOptions } from "./load-balancer.js";
import { type Logger, silentLogger } from "./logger.js";
import type { DevOperator, LocalOidcProvider } from "./oidc-provider.js";
import { assertPortFree, freePort } from "./ports.js";
import { type KeyringStore, type SharedServices, startSharedServices } from "./shared-services.js";
import { lockStateDir } from "./state-lock.js";
import { repoRoot, type WebCommand } from "./web-command.js";

export type { KeyringStore };

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
  /** Further settings of every instance (LOG_LEVEL, DEBUG_ROUTES…). */
  readonly webSettings?: WebSettings;
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

  // Fail before starting anything, with the flag that fixes it.
  if (lbPort !== 0) await assertPortFree(lbPort, host, "--port");
  const specs: InstanceSpec[] = [];
  for (let i = 0; i < count; i += 1) {
    const port = firstPort === 0 ? await freePort(host) : firstPort + i;
    if (firstPort !== 0) await assertPortFree(port, host, "--instance-port");
    specs.push({ id: `web-${i + 1}`, port });
  }

  const stateDir = options.inMemory
    ? undefined
    : resolve(options.stateDir ?? join(repoRoot, ".fleetline"));
  const unlock = stateDir ? lockStateDir(stateDir) : undefined;
  let services: SharedServices | undefined;
  let fleet: Fleet | undefined;
  const stopAll = async () => {
    await services?.loadBalancer.close();
    await fleet?.stop();
    await services?.stop();
    unlock?.();
  };
  try {
    services = await startSharedServices({
      host,
      port: lbPort,
      // Checks every second: a crashed instance leaves rotation within ~2 s and a new one joins
      // within ~2 s of listening (the ALB's 30 s × 5 would make a local restart feel broken).
      loadBalancer: {
        healthCheckIntervalMs: 1000,
        healthCheckTimeoutMs: 1000,
        ...options.loadBalancer,
      },
      ...(stateDir ? { dataDir: join(stateDir, "data"), keysDir: join(stateDir, "keys") } : {}),
      ...(options.usersTable ? { usersTable: options.usersTable } : {}),
      keyring,
      ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
      oidc: {
        port: options.oidcPort ?? 0,
        ...(stateDir ? { operatorFile: join(stateDir, "oidc", "operator.json") } : {}),
      },
      logger: log,
    });
    const shared = services;
    const oidc = shared.oidc as LocalOidcProvider;
    fleet = new Fleet({
      instances: specs,
      env: {
        PATH: process.env.PATH ?? "",
        // The supervisor's own SDK client already printed the Node-version notice once; N more
        // copies of the same seven lines would bury the banner.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        ...webEnv({
          ...shared.webSettings,
          NODE_ENV: "development",
          // --keyring memory keeps the anti-forgery keys per instance (the original's bug), but
          // the operator must stay signed in across instances to see it: sessions get a shared
          // file ring.
          SESSION_KEYRING_DIR:
            keyring === "memory" ? join(stateDir ?? shared.keysDir, "session-keys") : undefined,
          // Under the fleet's own SIGKILL timeout, so a stuck shutdown is the web's to report.
          SHUTDOWN_TIMEOUT_MS: 10_000,
          ...options.webSettings,
        }),
      },
      ...(options.webCommand ? { command: options.webCommand } : {}),
      ...(options.output ? { output: options.output } : {}),
      ...(options.stopTimeoutMs ? { stopTimeoutMs: options.stopTimeoutMs } : {}),
      logger: log,
    });
    const supervisor = fleet;
    supervisor.start();

    const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    const bringIntoService = async (spec: InstanceSpec) => {
      try {
        await shared.bringIntoService(spec, readyTimeoutMs);
      } catch {
        throw new Error(
          `${spec.id} did not pass its health checks within ${readyTimeoutMs / 1000} s; see its log lines above`,
        );
      }
    };
    await Promise.all(specs.map(bringIntoService));

    const lb = shared.loadBalancer;
    let rolling: Promise<void> | undefined;
    let stopped: Promise<void> | undefined;
    return {
      url: shared.url,
      lbPort: lb.port,
      instances: specs.map((s) => ({ ...s, url: `http://${host}:${s.port}` })),
      keyring,
      dynamoDbEndpoint: shared.dynamo.endpoint,
      stateDir,
      oidc: { issuer: oidc.issuer, operator: oidc.operator },
      loadBalancer: lb,
      fleet: supervisor,
      rollingRestart() {
        rolling ??= (async () => {
          try {
            for (const spec of specs) {
              log.info({ instance: spec.id }, "rolling restart: draining");
              await lb.deregister(spec.id);
              await supervisor.restart(spec.id);
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
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
