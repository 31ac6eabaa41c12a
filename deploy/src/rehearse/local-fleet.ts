// What the rehearsal deploys onto: the embedded DynamoDB with the Users table, the local load
// balancer (standing in for the ALB and its target group) and N empty instances, bootstrapped
// but with nothing installed, like fresh EC2 instances before their first deployment.
import { join } from "node:path";
import type { LoadBalancer } from "@fleetline/local/load-balancer";
import { type Logger, silentLogger } from "@fleetline/local/logger";
import { freePort } from "@fleetline/local/ports";
import { type SharedServices, startSharedServices } from "@fleetline/local/shared-services";
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
    private readonly services: SharedServices,
    readonly instances: readonly LocalInstance[],
  ) {}

  static async start(options: LocalFleetOptions): Promise<LocalFleet> {
    // No OpenID provider: the rehearsal checks what CodeDeploy checks (/health/ready), and the
    // users pages stay closed, as on a stack whose operators have not been invited yet.
    const services = await startSharedServices({
      port: options.port ?? 0,
      loadBalancer: {
        healthCheckIntervalMs: options.healthCheckIntervalMs ?? 500,
        deregistrationDelayMs: options.deregistrationDelayMs ?? 30_000,
      },
      keyring: options.keyring ?? "file",
      keysDir: join(options.workDir, "keys"),
      ...(options.keyring === "redis"
        ? { redisUrl: options.redisUrl ?? "redis://127.0.0.1:6379" }
        : {}),
      oidc: false,
      logger: options.logger ?? silentLogger,
    });
    try {
      const instances: LocalInstance[] = [];
      for (let n = 1; n <= (options.instances ?? 2); n++) {
        const id = `i-local-${n}`;
        const instance = new LocalInstance({
          id,
          root: join(options.workDir, "instances", id),
          port: await freePort(),
          settings: services.webSettings,
        });
        instance.bootstrap();
        instances.push(instance);
      }
      return new LocalFleet(services, instances);
    } catch (error) {
      await services.stop();
      throw error;
    }
  }

  get loadBalancer(): LoadBalancer {
    return this.services.loadBalancer;
  }

  get dynamo(): { readonly endpoint: string } {
    return this.services.dynamo;
  }

  get url(): string {
    return this.services.url;
  }

  /** Stops every web through its systemctl, then the load balancer and DynamoDB. */
  async close(): Promise<void> {
    await Promise.allSettled(this.instances.map((i) => i.stop()));
    await this.services.stop();
  }
}
