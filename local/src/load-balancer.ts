/**
 * A local stand-in for the Application Load Balancer and its target group: round robin over
 * healthy targets, active health checks with thresholds, 502/503/504 answered by the balancer,
 * X-Forwarded-* set as the ALB sets them, and deregistration with connection draining.
 *
 * The two halves live in load-balancer/: {@link TargetGroup} (registry, health states,
 * draining) and {@link ReverseProxy} (the client-facing server and forwarding). This class wires
 * them under the one API the stack, the rehearsal and the benchmarks use.
 */

import { type ProxyOptions, ReverseProxy } from "./load-balancer/proxy.js";
import {
  type Target,
  TargetGroup,
  type TargetGroupOptions,
  type TargetState,
  type TargetView,
} from "./load-balancer/target-group.js";
import { type Logger, silentLogger } from "./logger.js";

export { normalisePath } from "./load-balancer/internal-paths.js";
export type { Target, TargetState, TargetView } from "./load-balancer/target-group.js";
export { ReverseProxy, TargetGroup };

/** Options of {@link LoadBalancer}: those of its target group and of its proxy. */
export interface LoadBalancerOptions
  extends Omit<TargetGroupOptions, "logger">,
    Omit<ProxyOptions, "logger"> {
  /** Default silent. */
  readonly logger?: Logger;
}

export class LoadBalancer {
  /** Registry, health checks and draining; exposed for what the facade does not pass on. */
  readonly targetGroup: TargetGroup;
  private readonly proxy: ReverseProxy;
  private closed = false;

  constructor(options: LoadBalancerOptions = {}) {
    const logger = options.logger ?? silentLogger;
    this.targetGroup = new TargetGroup({ ...options, logger });
    this.proxy = new ReverseProxy(this.targetGroup, { ...options, logger });
  }

  /** Starts accepting clients; resolves the bound port (pass 0 for a free one). */
  listen(port: number, host = "127.0.0.1"): Promise<number> {
    return this.proxy.listen(port, host);
  }

  /** The bound port, 0 before {@link listen}. */
  get port(): number {
    return this.proxy.port;
  }

  /** Adds a target in state "initial"; it gets traffic once it passes the healthy threshold. */
  register(target: Target): void {
    this.targetGroup.register(target);
  }

  /** See {@link TargetGroup.deregister}: draining, then removal after the in-flight requests. */
  deregister(id: string): Promise<void> {
    return this.targetGroup.deregister(id);
  }

  /** Resolves when the target is healthy; rejects after timeoutMs or if it is deregistered. */
  waitForHealthy(id: string, timeoutMs: number): Promise<void> {
    return this.targetGroup.waitForHealthy(id, timeoutMs);
  }

  /** Resolves when the target's state is `state`; rejects after timeoutMs. */
  waitForState(id: string, state: TargetState, timeoutMs: number): Promise<void> {
    return this.targetGroup.waitForState(id, state, timeoutMs);
  }

  /** A snapshot of the targets, in registration order. */
  targets(): ReadonlyArray<TargetView> {
    return this.targetGroup.targets();
  }

  /** Stops health checks and closes every client and target connection at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.targetGroup.close();
    await this.proxy.close();
  }
}
