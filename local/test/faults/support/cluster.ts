// A small fleet for fault tests, from parts that have landed: the local LoadBalancer in this
// process, web instances as real child processes, dynalite persisted under a temp dir (so it can
// be stopped and started again on the same port without losing what it acknowledged).
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestContext } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { startWebProcess } from "../../../../web/test/helpers/web-process.js";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "../../../src/embedded-dynamodb.js";
import { LoadBalancer, type LoadBalancerOptions } from "../../../src/load-balancer.js";
import { type DevOperator, startLocalOidcProvider } from "../../../src/oidc-provider.js";
import { signInOverHttp } from "../../../src/sign-in-client.js";
import { ensureUsersTable } from "../../../src/users-table.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../../../..");

export interface WebInstance {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** stdout/stderr lines (pino JSON), newest last; capped. */
  readonly lines: string[];
  /** True while the process has not exited. */
  alive(): boolean;
  /** SIGTERM and the exit code (null if it had to be SIGKILLed after 10 s). */
  stop(): Promise<number | null>;
  /** SIGKILL, no goodbye; resolves when the process is gone. */
  kill(): Promise<void>;
}

export interface WebInstanceEnv {
  readonly dynamodbEndpoint: string;
  readonly keyringStore: "file" | "redis" | "memory";
  readonly keyringDir?: string;
  readonly redisUrl?: string;
  /** The OpenID provider the instances sign operators in with, and their public origin. */
  readonly oidcIssuer: string;
  readonly oidcClientId: string;
  readonly publicOrigin: string;
}

/** One web instance through tsx, as the local stack runs it; resolves once it listens. */
export async function startWebInstance(id: string, env: WebInstanceEnv): Promise<WebInstance> {
  const web = await startWebProcess({
    INSTANCE_ID: id,
    DYNAMODB_ENDPOINT: env.dynamodbEndpoint,
    USERS_TABLE: "Users",
    KEYRING_STORE: env.keyringStore,
    ...(env.keyringDir ? { KEYRING_DIR: env.keyringDir } : {}),
    ...(env.redisUrl ? { REDIS_URL: env.redisUrl } : {}),
    TRUST_PROXY: "127.0.0.1",
    OIDC_ISSUER: env.oidcIssuer,
    OIDC_CLIENT_ID: env.oidcClientId,
    PUBLIC_ORIGIN: env.publicOrigin,
    // Every client here is 127.0.0.1: the traffic generators must not meet the abuse limits.
    RATE_LIMIT_WRITE_MAX: "1000000",
    RATE_LIMIT_SIGN_IN_MAX: "1000000",
    // info: the listening line tells us the port; request lines stay out of the way.
    LOG_LEVEL: "info",
    SHUTDOWN_TIMEOUT_MS: "8000",
  });
  return { ...web, id };
}

export interface Dynamo {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Every item of the Users table, straight from the store. */
  scanUsers(): Promise<Array<Record<string, unknown>>>;
}

/** dynalite persisted in `dataDir`, so a restart keeps what it acknowledged. */
export async function startDynamo(dataDir: string): Promise<Dynamo> {
  let db: EmbeddedDynamoDb | undefined = await startEmbeddedDynamoDb({ dataDir });
  const port = db.port;
  const endpoint = db.endpoint;
  await ensureUsersTable({ endpoint, tableName: "Users", region: "us-east-1" });
  return {
    endpoint,
    port,
    async stop() {
      await db?.stop();
      db = undefined;
    },
    async start() {
      if (db) return;
      db = await startEmbeddedDynamoDb({ dataDir, port });
    },
    scanUsers: () => scanUsers(endpoint),
  };
}

/** Every item of the Users table at `endpoint`, straight from the store. */
export async function scanUsers(endpoint: string): Promise<Array<Record<string, unknown>>> {
  const raw = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const client = DynamoDBDocumentClient.from(raw);
  const items: Array<Record<string, unknown>> = [];
  try {
    let start: Record<string, unknown> | undefined;
    do {
      const out = await client.send(
        new ScanCommand({ TableName: "Users", ExclusiveStartKey: start, ConsistentRead: true }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
  } finally {
    raw.destroy();
  }
  return items;
}

export interface ClusterOptions {
  /** Web instances; default 2. */
  readonly instances?: number;
  /** Default "file" (a temp dir shared by the instances). */
  readonly keyringStore?: "file" | "redis";
  readonly redisUrl?: string;
  /** Load balancer overrides; defaults here: checks every 500 ms, 2 to turn, 500 ms timeout. */
  readonly loadBalancer?: LoadBalancerOptions;
}

export interface Cluster {
  readonly lb: LoadBalancer;
  readonly lbUrl: string;
  readonly dynamo: Dynamo;
  readonly keyringDir: string;
  readonly operator: DevOperator;
  /** A session cookie (name=value) of the operator, signed in through the real flow at start. */
  readonly cookie: string;
  /** Signs the operator in again (a new session); returns the cookie. */
  signIn(): Promise<string>;
  /** Current instances, in registration order (rolling restarts replace entries). */
  readonly instances: WebInstance[];
  /** Starts an instance with the cluster's settings, registers it and waits until healthy. */
  addInstance(id: string): Promise<WebInstance>;
}

export const LB_DEFAULTS = {
  healthCheckIntervalMs: 500,
  healthCheckTimeoutMs: 500,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  deregistrationDelayMs: 10_000,
} as const satisfies LoadBalancerOptions;

/** Dynamo, N instances behind a load balancer; everything is torn down in t.after. */
export async function startCluster(t: TestContext, options: ClusterOptions = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-faults-"));
  const keyringDir = join(dir, "keys");
  const instances: WebInstance[] = [];
  let lb: LoadBalancer | undefined;
  let dynamo: Dynamo | undefined;
  t.after(async () => {
    await lb?.close();
    await Promise.all(instances.map((i) => i.stop()));
    await dynamo?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  dynamo = await startDynamo(join(dir, "data"));
  lb = new LoadBalancer({ ...LB_DEFAULTS, ...options.loadBalancer });
  const lbPort = await lb.listen(0);
  const lbUrl = `http://127.0.0.1:${lbPort}`;
  const oidc = await startLocalOidcProvider({ webOrigins: [lbUrl] });
  t.after(() => oidc.stop());
  const env: WebInstanceEnv = {
    oidcIssuer: oidc.issuer,
    oidcClientId: oidc.clientId,
    publicOrigin: lbUrl,
    dynamodbEndpoint: dynamo.endpoint,
    keyringStore: options.keyringStore ?? "file",
    keyringDir,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  };
  const balancer = lb;
  const addInstance = async (id: string) => {
    const instance = await startWebInstance(id, env);
    instances.push(instance);
    balancer.register({ id, host: "127.0.0.1", port: instance.port });
    await balancer.waitForHealthy(id, 15_000);
    return instance;
  };
  // One after the other: two instances starting on an empty file store at once is the key
  // ring's own test; here the fleet should start as it does in production, settled.
  for (let i = 1; i <= (options.instances ?? 2); i++) await addInstance(`web-${i}`);
  const signIn = async () => (await signInOverHttp({ siteUrl: lbUrl, ...oidc.operator })).cookie;
  return {
    lb,
    lbUrl,
    dynamo,
    keyringDir,
    operator: oidc.operator,
    cookie: await signIn(),
    signIn,
    instances,
    addInstance,
  };
}
