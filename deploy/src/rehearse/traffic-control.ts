// What CodeDeploy's BlockTraffic and AllowTraffic need from a load balancer. The local stack's
// LoadBalancer (@fleetline/local/load-balancer) has this shape; so does an ALB target group.
export interface TrafficTarget {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

export interface TrafficControl {
  register(target: TrafficTarget): void;
  /** Resolves once the target's in-flight requests are done (or the delay passed). */
  deregister(id: string): Promise<void>;
  waitForHealthy(id: string, timeoutMs: number): Promise<void>;
  targets(): ReadonlyArray<TrafficTarget & { readonly state: string; readonly inFlight: number }>;
}
