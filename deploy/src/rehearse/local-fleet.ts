// What the rehearsal deploys onto: the embedded DynamoDB with the Users table, the local load
// balancer (standing in for the ALB and its target group) and N empty instances, bootstrapped
// but with nothing installed, like fresh EC2 instances before their first deployment.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from "@fleetline/local/embedded-dynamodb";
import { LoadBalancer } from "@fleetline/local/load-balancer";
import { type Logger, silentLogger } from "@fleetline/local/logger";
import { freePort } from "@fleetline/local/ports";
import { ensureUsersTable } from "@fleetline/local/users-table";
import { LocalInstance } from "./local-instance.js";

export interface LocalFleetOptions {
  /** Instance roots go to `<workDir>/instances/<id>`, the shared key ring to `<workDir>/keys`. */
  readonly workDir: string;
  /** How many instances. Default 2. */
  readonly instances?: number;
  /** Load balancer port; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Key-ring store the instances share: a folder, or Redis at `redisUrl`. Default "file". */
  readonly keyring?: "file" | "redis";
  /** Used when keyring is "redis". Default "redis://127.0.0.1:6379". */
  readonly redisUrl?: string;
  /** Longest drain on BlockTraffic. Default 30000 ms (the ALB's 300 s is too slow for rehearsals). */
  readonly deregistrationDelayMs?: number;
  /** Time between the load balancer's health checks. Default 500 ms. */
  readonly healthCheckIntervalMs?: number;
  /** Load balancer log. Default silent. */
  readonly logger?: Logger;
}

export class LocalFleet {
  private constructor(
    readonly dynamo: EmbeddedDynamoDb,
    readonly loadBalancer: LoadBalancer,
    readonly instances: readonly LocalInstance[],
  ) {}

  static async start(options: LocalFleetOptions): Promise<LocalFleet> {
    const dynamo = await startEmbeddedDynamoDb();
    const opened: { lb?: LoadBalancer } = {};
    try {
      await ensureUsersTable({
        endpoint: dynamo.endpoint,
        tableName: "Users",
        region: "us-east-1",
      });
      const keyring: Record<string, string> =
        options.keyring === "redis"
          ? { KEYRING_STORE: "redis", REDIS_URL: options.redisUrl ?? "redis://127.0.0.1:6379" }
          : { KEYRING_STORE: "file", KEYRING_DIR: join(options.workDir, "keys") };
      if (keyring.KEYRING_DIR) mkdirSync(keyring.KEYRING_DIR, { recursive: true });
      const instances: LocalInstance[] = [];
      for (let n = 1; n <= (options.instances ?? 2); n++) {
        const id = `i-local-${n}`;
        const instance = new LocalInstance({
          id,
          root: join(options.workDir, "instances", id),
          port: await freePort(),
          environment: { DYNAMODB_ENDPOINT: dynamo.endpoint, ...keyring },
        });
        instance.bootstrap();
        instances.push(instance);
      }
      const lb = new LoadBalancer({
        healthCheckIntervalMs: options.healthCheckIntervalMs ?? 500,
        deregistrationDelayMs: options.deregistrationDelayMs ?? 30_000,
        logger: options.logger ?? silentLogger,
      });
      opened.lb = lb;
      await lb.listen(options.port ?? 0);
      return new LocalFleet(dynamo, lb, instances);
    } catch (error) {
      await opened.lb?.close();
      await dynamo.stop();
      throw error;
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.loadBalancer.port}`;
  }

  /** Stops every web through its systemctl, then the load balancer and DynamoDB. */
  async close(): Promise<void> {
    await Promise.allSettled(this.instances.map((i) => i.stop()));
    await this.loadBalancer.close();
    await this.dynamo.stop();
  }
}
