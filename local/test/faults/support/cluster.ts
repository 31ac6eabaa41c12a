// A small fleet for fault tests, assembled as every local fleet is (shared-services.ts): the
// load balancer in this process, web instances as real child processes, dynalite persisted under
// a temp dir (so it can be stopped and started again on the same port without losing what it
// acknowledged).
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestContext } from "node:test";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { WebSettings } from "@fleetline/web/config";
import { startWebProcess } from "@fleetline/web/testing/web-process";
import type { LoadBalancer, LoadBalancerOptions } from "../../../src/load-balancer.js";
import type { DevOperator } from "../../../src/oidc-provider.js";
import {
  type LocalDynamoDb,
  startLocalDynamoDb,
  startSharedServices,
} from "../../../src/shared-services.js";
import { signInOverHttp } from "../../../src/sign-in-client.js";

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

/** What fault tests add to the fleet's settings. */
const FAULT_TEST_SETTINGS = {
  // Every client here is 127.0.0.1: the traffic generators must not meet the abuse limits.
  RATE_LIMIT_WRITE_MAX: 1_000_000,
  RATE_LIMIT_SIGN_IN_MAX: 1_000_000,
  // info: the listening line tells us the port; request lines stay out of the way.
  LOG_LEVEL: "info",
  SHUTDOWN_TIMEOUT_MS: 8000,
} as const satisfies WebSettings;

export interface Dynamo extends LocalDynamoDb {
  /** Every item of the Users table, straight from the store. */
  scanUsers(): Promise<Array<Record<string, unknown>>>;
}

/** dynalite persisted in `dataDir`, so a restart keeps what it acknowledged. */
export async function startDynamo(dataDir: string): Promise<Dynamo> {
  return withScan(await startLocalDynamoDb({ dataDir }));
}

function withScan(db: LocalDynamoDb): Dynamo {
  return { ...db, scanUsers: () => scanUsers(db.endpoint) };
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
  const services = await startSharedServices({
    loadBalancer: { ...LB_DEFAULTS, ...options.loadBalancer },
    dataDir: join(dir, "data"),
    keyring: options.keyringStore ?? "file",
    keysDir: keyringDir,
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
  });
  t.after(async () => {
    await services.loadBalancer.close();
    await Promise.all(instances.map((i) => i.stop()));
    await services.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const oidc = services.oidc;
  if (!oidc) throw new Error("the cluster signs operators in: it needs the OpenID provider");
  const addInstance = async (id: string) => {
    const web = await startWebProcess({
      ...services.webSettings,
      ...FAULT_TEST_SETTINGS,
      INSTANCE_ID: id,
    });
    const instance = { ...web, id };
    instances.push(instance);
    await services.bringIntoService({ id, port: instance.port }, 15_000);
    return instance;
  };
  // One after the other: two instances starting on an empty file store at once is the key
  // ring's own test; here the fleet should start as it does in production, settled.
  for (let i = 1; i <= (options.instances ?? 2); i++) await addInstance(`web-${i}`);
  const signIn = async () =>
    (await signInOverHttp({ siteUrl: services.url, ...oidc.operator })).cookie;
  return {
    lb: services.loadBalancer,
    lbUrl: services.url,
    dynamo: withScan(services.dynamo),
    keyringDir,
    operator: oidc.operator,
    cookie: await signIn(),
    signIn,
    instances,
    addInstance,
  };
}
