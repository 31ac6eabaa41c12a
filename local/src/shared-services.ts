// The one place a local fleet is assembled around the load balancer: what every instance shares
// (the Users table in dynalite, the key ring, the OpenID provider, the balancer in front) and the
// settings an instance is started with to use them. `npm start` (local-stack.ts), the rehearsal
// (deploy/), the fault tests and the bench each add their own instances: processes under a
// supervisor, CodeDeploy-installed releases, test processes, the deployed bundle.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WebSettings } from "@fleetline/web/config";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "./embedded-dynamodb.js";
import { LoadBalancer, type LoadBalancerOptions } from "./load-balancer.js";
import { type Logger, silentLogger } from "./logger.js";
import { type LocalOidcProvider, startLocalOidcProvider } from "./oidc-provider.js";
import { PortInUseError, waitForListening } from "./ports.js";
import { ensureUsersTable } from "./users-table.js";

export type KeyringStore = "memory" | "file" | "redis";

/** Options of {@link startSharedServices}; every field optional. */
export interface SharedServicesOptions {
  /** Address everything listens on. Default "127.0.0.1". */
  readonly host?: string;
  /** Load balancer port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** The command-line flag named when `port` is taken. Default "--port". */
  readonly portFlag?: string;
  /** Load balancer settings (health checks, deregistration delay…). */
  readonly loadBalancer?: Omit<LoadBalancerOptions, "logger">;
  /** Where dynalite persists, so a restart keeps what it acknowledged. Default: in memory. */
  readonly dataDir?: string;
  /** DynamoDB table name. Default "Users". */
  readonly usersTable?: string;
  /** The key ring every instance shares. Default "file". */
  readonly keyring?: KeyringStore;
  /** The file key ring's folder. Default: a temporary one, removed at stop. */
  readonly keysDir?: string;
  /** Required when keyring is "redis". */
  readonly redisUrl?: string;
  /**
   * The local OpenID provider operators sign in with (Cognito's stand-in); false for none, and
   * then nobody can sign in. Default: one on a free port, its operator kept in memory.
   */
  readonly oidc?: false | { readonly port?: number; readonly operatorFile?: string };
  /** The balancer's and the services' own events. Default silent. */
  readonly logger?: Logger;
}

/** dynalite with the Users table; stop() and start() keep its port (and data, when persisted). */
export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly port: number;
  readonly tableName: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface SharedServices {
  /** The load balancer's address, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly host: string;
  readonly dynamo: LocalDynamoDb;
  readonly loadBalancer: LoadBalancer;
  readonly oidc: LocalOidcProvider | undefined;
  readonly keyring: KeyringStore;
  /** The file key ring's folder (also created for the other stores, unused by them). */
  readonly keysDir: string;
  /** Where browsers reach the site: the balancer's origins. */
  readonly publicOrigins: readonly string[];
  /**
   * What every instance needs to use these services: table, key ring, sign-in, trusted proxy.
   * Add PORT and INSTANCE_ID per instance, and anything else the caller's instances differ in.
   */
  readonly webSettings: WebSettings;
  /**
   * Waits until the instance accepts connections, registers it with the balancer and waits
   * until it passes its health checks, as an Auto Scaling group brings an instance InService.
   */
  bringIntoService(
    target: { readonly id: string; readonly port: number },
    timeoutMs: number,
  ): Promise<void>;
  /** Stops the balancer, the provider and DynamoDB; idempotent. Instances are the caller's. */
  stop(): Promise<void>;
}

/** Starts DynamoDB (with the table), the load balancer and the OpenID provider. */
export async function startSharedServices(
  options: SharedServicesOptions = {},
): Promise<SharedServices> {
  const host = options.host ?? "127.0.0.1";
  const keyring = options.keyring ?? "file";
  if (keyring === "redis" && !options.redisUrl) {
    throw new Error("the redis key ring needs a Redis URL (set REDIS_URL)");
  }
  const log = options.logger ?? silentLogger;
  const cleanups: Array<() => Promise<void> | void> = [];
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
    const keysDir = options.keysDir ?? mkdtempSync(join(tmpdir(), "fleetline-keys-"));
    if (options.keysDir) mkdirSync(keysDir, { recursive: true });
    else cleanups.push(() => rmSync(keysDir, { recursive: true, force: true }));

    const dynamo = await startLocalDynamoDb({
      host,
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.usersTable ? { tableName: options.usersTable } : {}),
    });
    cleanups.push(() => dynamo.stop());
    log.info({ table: dynamo.tableName, endpoint: dynamo.endpoint }, "DynamoDB ready");

    const lb = new LoadBalancer({ ...options.loadBalancer, logger: log });
    cleanups.push(() => lb.close());
    let lbPort: number;
    try {
      lbPort = await lb.listen(options.port ?? 0, host);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
        throw new PortInUseError(options.port ?? 0, options.portFlag ?? "--port");
      throw err;
    }
    const url = `http://${host}:${lbPort}`;
    const publicOrigins = [url];
    if (host === "127.0.0.1") publicOrigins.push(`http://localhost:${lbPort}`);

    let oidc: LocalOidcProvider | undefined;
    if (options.oidc !== false) {
      oidc = await startLocalOidcProvider({
        host,
        port: options.oidc?.port ?? 0,
        webOrigins: publicOrigins,
        ...(options.oidc?.operatorFile ? { operatorFile: options.oidc.operatorFile } : {}),
      });
      cleanups.push(() => oidc?.stop());
      log.info({ issuer: oidc.issuer }, "OpenID provider ready");
    }

    const webSettings: WebSettings = {
      HOST: host,
      AWS_REGION: "us-east-1",
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      USERS_TABLE: dynamo.tableName,
      KEYRING_STORE: keyring,
      KEYRING_DIR: keysDir,
      REDIS_URL: keyring === "redis" ? options.redisUrl : undefined,
      TRUST_PROXY: "127.0.0.1",
      OIDC_ISSUER: oidc?.issuer,
      OIDC_CLIENT_ID: oidc?.clientId,
      PUBLIC_ORIGIN: publicOrigins,
    };
    let stopped: Promise<void> | undefined;
    return {
      url,
      host,
      dynamo,
      loadBalancer: lb,
      oidc,
      keyring,
      keysDir,
      publicOrigins,
      webSettings,
      async bringIntoService(target, timeoutMs) {
        await waitForListening(target.port, host, timeoutMs);
        lb.register({ id: target.id, host, port: target.port });
        await lb.waitForHealthy(target.id, timeoutMs);
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

/** dynalite with the Users table, in memory or persisted in `dataDir`. */
export async function startLocalDynamoDb(
  options: { readonly host?: string; readonly dataDir?: string; readonly tableName?: string } = {},
): Promise<LocalDynamoDb> {
  const { host = "127.0.0.1", dataDir, tableName = "Users" } = options;
  let db: EmbeddedDynamoDb | undefined = await startEmbeddedDynamoDb({
    host,
    ...(dataDir ? { dataDir } : {}),
  });
  const { port, endpoint } = db;
  try {
    await ensureUsersTable({ endpoint, tableName, region: "us-east-1" });
  } catch (err) {
    await db.stop();
    throw err;
  }
  return {
    endpoint,
    port,
    tableName,
    async stop() {
      await db?.stop();
      db = undefined;
    },
    async start() {
      db ??= await startEmbeddedDynamoDb({ host, port, ...(dataDir ? { dataDir } : {}) });
    },
  };
}
